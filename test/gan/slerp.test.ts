/**
 * Spherical interpolation of latents: exact endpoints, points on the arc,
 * linear norm, and the degenerate cases (parallel, antiparallel, identical,
 * zero, bad input).
 */
import { describe, expect, it } from 'vitest';
import { easedFractions, planSlerp, slerpLatent, slerpPath } from '../../src/gan/slerp.ts';
import { latentsForSeed } from '../../src/gan/latent.ts';

const f32 = (xs: number[]) => Float32Array.from(xs);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const norm = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));
const angle = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Math.acos(Math.max(-1, Math.min(1, dot(a, b) / (norm(a) * norm(b)))));

describe('slerpLatent', () => {
  const nz = 100;
  const lat = latentsForSeed(42, 2, nz);
  const a = lat.slice(0, nz);
  const b = lat.slice(nz);

  it('returns the endpoints bit for bit', () => {
    expect(Buffer.from(slerpLatent(a, b, 0).buffer).equals(Buffer.from(a.buffer))).toBe(true);
    expect(Buffer.from(slerpLatent(a, b, 1).buffer).equals(Buffer.from(b.buffer))).toBe(true);
    // And fresh arrays, not the inputs.
    expect(slerpLatent(a, b, 0)).not.toBe(a);
  });

  it('puts the midpoint on the great circle, halfway in angle, with the mean norm', () => {
    const m = slerpLatent(a, b, 0.5);
    const omega = angle(a, b);
    expect(omega).toBeGreaterThan(1); // random Gaussian latents are nearly orthogonal
    expect(angle(a, m)).toBeCloseTo(omega / 2, 5);
    expect(angle(m, b)).toBeCloseTo(omega / 2, 5);
    expect(norm(m)).toBeCloseTo((norm(a) + norm(b)) / 2, 4);
    // In the plane of a and b: the residual after projecting onto span(a, b) is ~0.
    const aa = dot(a, a),
      bb = dot(b, b),
      ab = dot(a, b),
      ma = dot(m, a),
      mb = dot(m, b);
    const det = aa * bb - ab * ab;
    const x = (ma * bb - mb * ab) / det;
    const y = (mb * aa - ma * ab) / det;
    const resid = Array.from(m, (v, i) => v - x * a[i] - y * b[i]);
    expect(norm(resid) / norm(m)).toBeLessThan(1e-5);
    // Straight-line interpolation would have left the Gaussian shell: its midpoint is ~0.7x shorter.
    const lerpMid = Array.from(a, (v, i) => (v + b[i]) / 2);
    expect(norm(lerpMid)).toBeLessThan(0.8 * norm(m));
  });

  it('moves monotonically at constant angular speed, and is deterministic', () => {
    const ts = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1];
    const path = slerpPath(a, b, ts);
    const omega = angle(a, b);
    ts.forEach((t, i) => {
      const p = path.subarray(i * nz, (i + 1) * nz);
      expect(angle(a, p)).toBeCloseTo(t * omega, 5);
      expect(norm(p)).toBeCloseTo((1 - t) * norm(a) + t * norm(b), 4);
      // slerpPath and slerpLatent agree exactly.
      expect(Array.from(p)).toEqual(Array.from(slerpLatent(a, b, t)));
    });
    expect(Array.from(slerpPath(a, b, ts))).toEqual(Array.from(path));
  });

  it('handles unit vectors in 2-D exactly like a rotation', () => {
    const m = slerpLatent(f32([1, 0]), f32([0, 1]), 0.5);
    expect(m[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(m[1]).toBeCloseTo(Math.SQRT1_2, 6);
    const third = slerpLatent(f32([1, 0]), f32([0, 1]), 1 / 3);
    expect(third[0]).toBeCloseTo(Math.cos(Math.PI / 6), 6);
    expect(third[1]).toBeCloseTo(Math.sin(Math.PI / 6), 6);
  });

  it('interpolates only the norm for parallel latents, and is constant for identical ones', () => {
    const b2 = a.map((v) => 3 * v);
    expect(planSlerp(a, b2).kind).toBe('parallel');
    const m = slerpLatent(a, b2, 0.5);
    for (let i = 0; i < nz; i++) expect(m[i]).toBeCloseTo(2 * a[i], 5);
    expect(planSlerp(a, a).kind).toBe('parallel');
    for (const t of [0.2, 0.5, 0.8]) {
      const p = slerpLatent(a, a, t);
      for (let i = 0; i < nz; i++) expect(p[i]).toBeCloseTo(a[i], 5);
    }
  });

  it('takes a fixed half circle for antiparallel latents (deterministic, norm kept, no NaN)', () => {
    const neg = a.map((v) => -v);
    const plan = planSlerp(a, neg);
    expect(plan.kind).toBe('antiparallel');
    expect(plan.omega).toBeCloseTo(Math.PI, 12);
    const m = slerpLatent(a, neg, 0.5);
    expect(m.every(Number.isFinite)).toBe(true);
    expect(norm(m)).toBeCloseTo(norm(a), 4);
    expect(Math.abs(dot(m, a)) / (norm(m) * norm(a))).toBeLessThan(1e-6);
    expect(Array.from(slerpLatent(a, neg, 0.5))).toEqual(Array.from(m));
    const q = slerpLatent(a, neg, 0.25);
    expect(angle(a, q)).toBeCloseTo(Math.PI / 4, 5);
    // Antiparallel with different norms; and the 2-D case, where the perpendicular is unique up to sign.
    const far = slerpLatent(f32([2, 0]), f32([-4, 0]), 0.5);
    expect(norm(far)).toBeCloseTo(3, 5);
    expect(Math.abs(far[0])).toBeLessThan(1e-6);
  });

  it('falls back to a straight line when one latent is zero, and copes with nz = 1', () => {
    const zero = new Float32Array(nz);
    expect(planSlerp(zero, a).kind).toBe('zero');
    const m = slerpLatent(zero, a, 0.5);
    for (let i = 0; i < nz; i++) expect(m[i]).toBeCloseTo(a[i] / 2, 6);
    expect(Array.from(slerpLatent(f32([2]), f32([4]), 0.5))).toEqual([3]);
    const flip = slerpLatent(f32([2]), f32([-2]), 0.5);
    expect(flip.every(Number.isFinite)).toBe(true);
  });

  it('handles nearly parallel latents without losing precision', () => {
    const near = a.slice();
    near[0] += 1e-4;
    const m = slerpLatent(a, near, 0.5);
    for (let i = 0; i < nz; i++) expect(m[i]).toBeCloseTo((a[i] + near[i]) / 2, 5);
  });

  it('rejects bad input', () => {
    expect(() => slerpLatent(a, new Float32Array(3), 0.5)).toThrow(/differ in size/);
    expect(() => slerpLatent(a, b, 1.5)).toThrow(/t must be in \[0, 1\]/);
    expect(() => slerpLatent(a, b, NaN)).toThrow(/t must be/);
    const bad = b.slice();
    bad[7] = NaN;
    expect(() => slerpLatent(a, bad, 0.5)).toThrow(/b\[7\] is not a finite number/);
    expect(() => slerpLatent(new Float32Array(0), new Float32Array(0), 0.5)).toThrow(/empty/);
  });
});

describe('easedFractions', () => {
  it('runs from 0 to 1, symmetric, increasing, with the exact midpoint for odd counts', () => {
    const ts = easedFractions(17);
    expect(ts).toHaveLength(17);
    expect(ts[0]).toBe(0);
    expect(ts[16]).toBe(1);
    expect(ts[8]).toBe(0.5);
    for (let i = 1; i < ts.length; i++) expect(ts[i]).toBeGreaterThan(ts[i - 1]);
    for (let i = 0; i < ts.length; i++) expect(ts[i] + ts[16 - i]).toBeCloseTo(1, 12);
    // Eased: small steps near the ends, big ones in the middle.
    expect(ts[1] - ts[0]).toBeLessThan(ts[9] - ts[8]);
    expect(easedFractions(2)).toEqual([0, 1]);
    expect(() => easedFractions(1)).toThrow();
  });
});
