/**
 * Community taste as latent-space math (pure JavaScript, no tensors, no database).
 *
 * The model of taste is one direction in latent space, estimated from the designs a server was
 * shown and the votes they got, comparing each design with the others shown ALONGSIDE it (its
 * message's grid, group m):
 *
 *     d = Σ_i a_i z_i,   a_i = w_i (v_i − v̄_m) / Σ w v,   v̄_m = Σ_m w v / Σ_m w
 *
 * i.e. the (weighted) mean latent of the upvoted designs minus the mean latent of what was shown
 * with them (v_i = votes on design i, w_i = its checkpoint weight, see checkpointWeights). Why this
 * and not a Gaussian fitted to the voted latents:
 * - Stein's lemma: for z ~ N(0, I) and ANY upvote probability p(z), E[z | upvoted] − E[z] =
 *   E[∇p(z)] / E[p(z)], the average direction in which upvotes become more likely. So d is a
 *   consistent estimate of "what voters like" without assuming a model of the voters.
 * - Contrasting within a grid (Σ_m a_i = 0) cancels whatever the designs of one message share:
 *   community designs are all shifted along the old taste, variations sit around one parent.
 *   Contrasting with 0 or with everything ever shown would let those shifts leak into d (steered
 *   designs reinforcing or, freshly posted and not yet voted on, cancelling the taste by
 *   themselves). It is also what voters do: pick designs out of the grid in front of them. A grid
 *   nobody voted on, or where every design got the same votes (a member upvoting everything), or a
 *   single-design message adds nothing.
 * - One direction needs nz numbers; a covariance needs nz² and hundreds of votes we won't have.
 *   Steering along d̂ constrains one of nz dimensions, so designs stay as diverse as plain ones.
 * - It is noisy in 100 dimensions with few votes. Under "votes are unrelated to the latent" (z_i
 *   iid N(0, I) within a grid) E|d|² = nz Σ a_i² exactly, so `signal` = |d|² / (nz Σ a_i²)
 *   compares the fit with chance (≈ 1: no detectable taste). Since |d|² ≈ |true part|² + that
 *   noise, 1 − 1/signal estimates cos² of the angle between d̂ and the true taste direction (the
 *   positive-part James-Stein factor), and the shift is scaled by that cosine,
 *   sqrt(max(0, 1 − 1/signal)): a well-supported direction is followed almost fully, a
 *   barely-above-chance one a little, so weak evidence can't push every design far along noise.
 *
 * Sampling: z = (z0 + δ d̂) · |z0| / |z0 + δ d̂| with δ = strength · STEER_SIGMA · shrink, z0 the
 * plain latent of the same seed. Each latent keeps its own norm (typical of N(0, I), ≈ sqrt(nz)),
 * so the generator sees inputs of the size it was trained on; only the component along d̂ moves
 * by ≈ δ standard deviations. strength 0 returns z0 unchanged (bit for bit).
 */

/** Shift along the taste direction at strength 1, in standard deviations of N(0, 1). */
export const STEER_SIGMA = 2.5;
/** Default /shoe strength. */
export const DEFAULT_STRENGTH = 0.6;
/** Each checkpoint served between a design's and the served one halves the design's weight. */
export const GENERATION_DECAY = 0.5;

/** One shown design as the fit sees it. */
export interface TasteSample {
  /** Its latent vector ([nz]). */
  latent: Float32Array;
  /** Upvotes it got (distinct members). */
  votes: number;
  /** Checkpoint weight in (0, 1] (checkpointWeights); 0 drops it. */
  weight: number;
  /** The message (grid) it was shown in; samples without one form a single group. */
  group?: string;
}

export interface TasteDirection {
  nz: number;
  /** Unit direction d̂ ([nz]); all zeros when there is no vote. */
  direction: Float32Array;
  /** |d|: how far the voted mean is from the shown mean (in latent units). */
  norm: number;
  /** |d|² over its expectation if votes were unrelated to latents (≈ 1: chance). */
  signal: number;
  /** Shift multiplier sqrt(max(0, 1 − 1/signal)): the estimated cosine between d̂ and the true taste. */
  shrink: number;
  /** Samples used (weight > 0, right length). */
  shown: number;
  /** Of those, samples with at least one vote. */
  voted: number;
  /** Samples voted above their grid's mean: the ones members picked out of what they saw. */
  preferred: number;
  /** Σ w_i over preferred samples: what the fit actually learns from, after down-weighting. */
  weightedPreferred: number;
  /** Σ w_i v_i: votes after checkpoint down-weighting. */
  weightedVotes: number;
  /** Σ w_i over voted samples: voted designs after down-weighting. */
  weightedVoted: number;
}

/**
 * Fits the taste direction from shown designs (see the module comment). Samples whose latent
 * length differs from `nz`, or with weight <= 0, are ignored. Deterministic: the sums run in
 * input order in float64.
 */
export function fitTasteDirection(samples: readonly TasteSample[], nz: number): TasteDirection {
  const used = samples.filter((s) => s.latent.length === nz && s.weight > 0 && Number.isFinite(s.weight));
  const groups = new Map<string, { w: number; wv: number }>();
  let sumWV = 0;
  let weightedVoted = 0;
  let voted = 0;
  for (const s of used) {
    const g = groups.get(s.group ?? '') ?? { w: 0, wv: 0 };
    g.w += s.weight;
    g.wv += s.weight * s.votes;
    groups.set(s.group ?? '', g);
    sumWV += s.weight * s.votes;
    if (s.votes > 0) {
      voted++;
      weightedVoted += s.weight;
    }
  }
  // Votes above the grid's (weighted) mean, with a little slack for float noise.
  const centred = used.map((s) => {
    const g = groups.get(s.group ?? '')!;
    const c = s.votes - g.wv / g.w;
    return Math.abs(c) < 1e-9 ? 0 : c;
  });
  let preferred = 0;
  let weightedPreferred = 0;
  used.forEach((s, i) => {
    if (centred[i] > 0) {
      preferred++;
      weightedPreferred += s.weight;
    }
  });
  const base = { nz, shown: used.length, voted, preferred, weightedVotes: sumWV, weightedVoted, weightedPreferred };
  const empty: TasteDirection = { ...base, direction: new Float32Array(nz), norm: 0, signal: 0, shrink: 0 };
  if (sumWV <= 0) return empty;
  const d = new Float64Array(nz);
  let sumA2 = 0;
  used.forEach((s, i) => {
    const a = (s.weight * centred[i]) / sumWV;
    if (a === 0) return;
    sumA2 += a * a;
    for (let j = 0; j < nz; j++) d[j] += a * s.latent[j];
  });
  let n2 = 0;
  for (let j = 0; j < nz; j++) n2 += d[j] * d[j];
  const norm = Math.sqrt(n2);
  if (!(norm > 0) || !(sumA2 > 0)) return empty;
  const signal = n2 / (nz * sumA2);
  const direction = new Float32Array(nz);
  for (let j = 0; j < nz; j++) direction[j] = d[j] / norm;
  return { ...base, direction, norm, signal, shrink: Math.sqrt(Math.max(0, 1 - 1 / signal)) };
}

/** The shift along d̂, in standard deviations, that `strength` gives for a fitted taste. */
export function steeringShift(taste: Pick<TasteDirection, 'shrink'>, strength: number): number {
  return strength * STEER_SIGMA * taste.shrink;
}

/**
 * Steers `n` plain latents `z0` ([n, nz], row-major) along the unit `direction` ([nz]) by `shift`
 * standard deviations, keeping each latent's norm. Returns a new [n, nz] array; shift 0 returns
 * an exact copy of z0. Deterministic (float64 arithmetic, fixed order).
 */
export function steerLatents(z0: Float32Array, n: number, direction: Float32Array, shift: number): Float32Array {
  const nz = direction.length;
  if (z0.length !== n * nz) throw new Error(`expected ${n} x ${nz} latent values, got ${z0.length}`);
  if (!Number.isFinite(shift)) throw new Error(`shift must be finite, got ${shift}`);
  const out = new Float32Array(z0);
  if (shift === 0) return out;
  for (let i = 0; i < n; i++) {
    const o = i * nz;
    let n0 = 0;
    let n1 = 0;
    const row = new Float64Array(nz);
    for (let j = 0; j < nz; j++) {
      const x = z0[o + j];
      n0 += x * x;
      row[j] = x + shift * direction[j];
      n1 += row[j] * row[j];
    }
    // A zero row (never from a Gaussian) would stay zero: nothing to rescale.
    const scale = n1 > 0 ? Math.sqrt(n0 / n1) : 0;
    for (let j = 0; j < nz; j++) out[o + j] = row[j] * scale;
  }
  return out;
}

/** Projections of `n` latents ([n, nz]) on a unit direction ([nz]). */
export function projections(latents: Float32Array, n: number, direction: Float32Array): Float64Array {
  const nz = direction.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let p = 0;
    for (let j = 0; j < nz; j++) p += latents[i * nz + j] * direction[j];
    out[i] = p;
  }
  return out;
}

/** A checkpoint as far as the weighting needs: its version and when it was first served. */
export interface CheckpointOrderEntry {
  version: string;
  /** Milliseconds since the epoch; ties break by version name (which sorts by time). */
  time: number;
}

/**
 * Weight per checkpoint version: GENERATION_DECAY ^ (number of served checkpoints between it and
 * `served`, counting steps along the time order either way, so after a rollback the newer
 * checkpoint's designs are down-weighted too). `served` gets 1. The same latent draws a different
 * sneaker under another generator, so its votes say less about the served one; halving per
 * generation is a simple, explainable prior (there is no way to re-score a vote on an image that
 * the new generator no longer draws). Versions missing from `order` get 0 (unknown provenance).
 */
export function checkpointWeights(
  order: readonly CheckpointOrderEntry[],
  served: string,
  decay = GENERATION_DECAY,
): Map<string, number> {
  const sorted = [...new Map(order.map((e) => [e.version, e])).values()].sort(
    (a, b) => a.time - b.time || (a.version < b.version ? -1 : a.version > b.version ? 1 : 0),
  );
  const at = sorted.findIndex((e) => e.version === served);
  const weights = new Map<string, number>();
  if (at < 0) {
    weights.set(served, 1);
    return weights;
  }
  sorted.forEach((e, i) => weights.set(e.version, decay ** Math.abs(i - at)));
  return weights;
}

/** A short, stable fingerprint of a steering setup (direction bytes + shrink), for replies and logs. */
export function tasteFingerprint(direction: Float32Array, shrink: number): string {
  // FNV-1a over the float32 bytes: not cryptographic, just "did the taste change?".
  let h = 0x811c9dc5;
  const bytes = new Uint8Array(direction.buffer, direction.byteOffset, direction.byteLength);
  const feed = (b: number) => {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  for (const b of bytes) feed(b);
  for (const b of new Uint8Array(new Float32Array([shrink]).buffer)) feed(b);
  return h.toString(16).padStart(8, '0').slice(0, 6);
}
