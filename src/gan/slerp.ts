/**
 * Spherical interpolation between two latent vectors, for /blend.
 *
 * A DCGAN's latents are Gaussian: in nz = 100 dimensions almost all of them
 * lie near the sphere of radius sqrt(nz). The straight line between two such
 * latents cuts through the inside of that shell (the midpoint of two
 * orthogonal ones has ~0.71x the usual norm), where the generator has never
 * been trained and draws washed-out images. So the *direction* moves along the
 * great circle through both directions (slerp) and the *norm* moves linearly
 * from |a| to |b|: every frame stays in the shell, and the path is well
 * defined even when the two norms differ (the textbook slerp formula applied
 * to unnormalised vectors is not, and bulges or sags with the norm ratio).
 *
 * Computed in float64 in plain JavaScript (no tensors): deterministic and the
 * same bytes on every backend.
 */

/**
 * Below this perpendicular component (of unit vectors) two directions count as
 * parallel or antiparallel: float32 latents carry ~6e-8 relative rounding, so
 * b = 3a stored as float32 is "parallel" although not exactly.
 */
const DEGENERATE = 1e-6;

export interface SlerpPlan {
  nz: number;
  normA: number;
  normB: number;
  /** Unit direction of a (all zero when a is the zero vector). */
  ua: Float64Array;
  /** Unit vector orthogonal to ua in the plane of the arc (all zero when not needed). */
  perp: Float64Array;
  /** Angle between the directions, 0..pi. */
  omega: number;
  /** Which case applies: documented on slerpLatent. */
  kind: 'arc' | 'parallel' | 'antiparallel' | 'zero';
}

function checkLatent(v: Float32Array, name: string): void {
  if (!(v instanceof Float32Array)) throw new Error(`${name} must be a Float32Array`);
  if (v.length === 0) throw new Error(`${name} is empty`);
  for (let i = 0; i < v.length; i++)
    if (!Number.isFinite(v[i])) throw new Error(`${name}[${i}] is not a finite number`);
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/**
 * A deterministic unit vector orthogonal to unit vector `u`: the standard
 * basis vector where |u| is smallest, with its u-component removed (for
 * antiparallel latents, where every great circle joins the two and one must be
 * picked; the same inputs always pick the same one).
 */
function orthogonalTo(u: Float64Array): Float64Array {
  const n = u.length;
  const p = new Float64Array(n);
  if (n === 1) return p; // no room for a second direction
  let k = 0;
  for (let i = 1; i < n; i++) if (Math.abs(u[i]) < Math.abs(u[k])) k = i;
  // e_k - u_k * u, normalised.
  for (let i = 0; i < n; i++) p[i] = -u[k] * u[i];
  p[k] += 1;
  const s = norm(p);
  for (let i = 0; i < n; i++) p[i] /= s;
  return p;
}

/** Precomputes the arc from `a` to `b` (same length, finite values); see slerpLatent. */
export function planSlerp(a: Float32Array, b: Float32Array): SlerpPlan {
  checkLatent(a, 'a');
  checkLatent(b, 'b');
  if (a.length !== b.length) throw new Error(`latents differ in size: ${a.length} vs ${b.length}`);
  const nz = a.length;
  const normA = norm(a);
  const normB = norm(b);
  const ua = new Float64Array(nz);
  const perp = new Float64Array(nz);
  if (normA === 0 || normB === 0) {
    // No direction to rotate from or to: the path is the straight line (see slerpLatent).
    return { nz, normA, normB, ua, perp, omega: 0, kind: 'zero' };
  }
  for (let i = 0; i < nz; i++) ua[i] = a[i] / normA;
  // Split b's direction into its part along ua (cos) and the rest (sin * perp):
  // atan2 of the two is accurate for every angle, unlike acos(dot) near 0 and pi.
  let cos = 0;
  for (let i = 0; i < nz; i++) cos += ua[i] * (b[i] / normB);
  for (let i = 0; i < nz; i++) perp[i] = b[i] / normB - cos * ua[i];
  const sin = norm(perp);
  if (sin < DEGENERATE && cos < 0) {
    // Opposite directions: b's tiny perpendicular part is rounding noise, not a plane worth following.
    return { nz, normA, normB, ua, perp: orthogonalTo(ua), omega: Math.PI, kind: 'antiparallel' };
  }
  if (sin === 0) return { nz, normA, normB, ua, perp, omega: 0, kind: 'parallel' };
  // (Nearly) parallel directions go through the same formula: with atan2 it stays accurate as sin -> 0.
  for (let i = 0; i < nz; i++) perp[i] /= sin;
  return { nz, normA, normB, ua, perp, omega: Math.atan2(sin, cos), kind: sin < DEGENERATE ? 'parallel' : 'arc' };
}

/** The point at fraction `t` of a planned arc (see slerpLatent); writes into `out` if given. */
export function slerpAt(
  plan: SlerpPlan,
  a: Float32Array,
  b: Float32Array,
  t: number,
  out = new Float32Array(plan.nz),
): Float32Array {
  if (!Number.isFinite(t) || t < 0 || t > 1) throw new Error(`t must be in [0, 1], got ${t}`);
  // The endpoints are the designs themselves, bit for bit.
  if (t === 0) {
    out.set(a);
    return out;
  }
  if (t === 1) {
    out.set(b);
    return out;
  }
  if (plan.kind === 'zero') {
    for (let i = 0; i < plan.nz; i++) out[i] = (1 - t) * a[i] + t * b[i];
    return out;
  }
  const r = (1 - t) * plan.normA + t * plan.normB;
  const c = Math.cos(t * plan.omega) * r;
  const s = Math.sin(t * plan.omega) * r;
  for (let i = 0; i < plan.nz; i++) out[i] = c * plan.ua[i] + s * plan.perp[i];
  return out;
}

/**
 * The latent at fraction t (0..1) of the way from `a` to `b` ([nz] each):
 * direction by spherical interpolation, norm linearly from |a| to |b|.
 * t = 0 and t = 1 return exact copies of a and b. Degenerate cases:
 * - same or parallel directions (b = k·a, k > 0): the direction stays, only the norm moves;
 * - antiparallel (b = -k·a): every great circle joins them; a fixed one is
 *   taken (through the basis axis where a is smallest), so the result is deterministic;
 * - a zero vector (no direction): linear interpolation.
 * Throws on different lengths, non-finite values or t outside [0, 1].
 */
export function slerpLatent(a: Float32Array, b: Float32Array, t: number): Float32Array {
  return slerpAt(planSlerp(a, b), a, b, t);
}

/**
 * Latents along the arc from `a` to `b` at each fraction of `ts`, row-major
 * [ts.length, nz] (ready for the generator).
 */
export function slerpPath(a: Float32Array, b: Float32Array, ts: readonly number[]): Float32Array {
  const plan = planSlerp(a, b);
  const out = new Float32Array(ts.length * plan.nz);
  ts.forEach((t, i) => slerpAt(plan, a, b, t, out.subarray(i * plan.nz, (i + 1) * plan.nz)));
  return out;
}

/**
 * `n` (>= 2, odd to include the exact midpoint) fractions from 0 to 1, eased
 * (cosine): frames bunch up near the two designs, so an animation lingers on
 * them and moves fastest in between. Symmetric: ts[i] + ts[n-1-i] = 1, and the
 * middle one is exactly 0.5 when n is odd.
 */
export function easedFractions(n: number): number[] {
  if (!Number.isInteger(n) || n < 2) throw new Error(`need at least 2 frames, got ${n}`);
  return Array.from({ length: n }, (_, i) => {
    if (i === 0) return 0;
    if (i === n - 1) return 1;
    if (2 * i === n - 1) return 0.5;
    return (1 - Math.cos((Math.PI * i) / (n - 1))) / 2;
  });
}
