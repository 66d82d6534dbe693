/** Community taste math: the fitted direction, the steering of latents, checkpoint weights. */
import { describe, expect, it } from 'vitest';
import { latentsForSeed, Rng } from '../../src/gan/latent.ts';
import {
  checkpointWeights,
  fitTasteDirection,
  projections,
  STEER_SIGMA,
  steeringShift,
  steerLatents,
  tasteFingerprint,
  type TasteSample,
} from '../../src/gan/steering.ts';

const NZ = 100;

/** A unit vector, seeded. */
function unit(seed: number, nz = NZ): Float32Array {
  const v = new Rng(seed).normalArray(nz);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);

/** `n` shown N(0, I) latents; `votes(z)` decides each one's votes. */
function shown(n: number, seed: number, votes: (z: Float32Array, i: number) => number, weight = 1): TasteSample[] {
  const z = latentsForSeed(seed, n, NZ);
  return Array.from({ length: n }, (_, i) => {
    const latent = z.slice(i * NZ, (i + 1) * NZ);
    return { latent, votes: votes(latent, i), weight };
  });
}

describe('fitTasteDirection', () => {
  it('recovers a planted preference direction, well above chance', () => {
    const b = unit(1);
    // Three voters with thresholds on the projection: the top ~30 % collect votes.
    const samples = shown(600, 2, (z) => [0, 0.5, 1].filter((t) => dot(z, b) > t).length);
    const fit = fitTasteDirection(samples, NZ);
    expect(dot(fit.direction, b)).toBeGreaterThan(0.8);
    expect(fit.signal).toBeGreaterThan(3);
    expect(fit.shrink).toBeGreaterThan(0.8);
    expect(fit.shrink).toBeLessThanOrEqual(1);
    expect(Math.hypot(...fit.direction)).toBeCloseTo(1, 5);
    expect(fit.voted).toBe(samples.filter((s) => s.votes > 0).length);
  });

  it('reports chance level when votes are unrelated to the latents (E|d|² = nz Σa² under the null)', () => {
    const signals: number[] = [];
    for (let t = 0; t < 40; t++) {
      const rng = new Rng(100 + t);
      signals.push(
        fitTasteDirection(
          shown(200, 300 + t, () => (rng.uniform() < 0.3 ? 1 + rng.int(3) : 0)),
          NZ,
        ).signal,
      );
    }
    const mean = signals.reduce((s, x) => s + x, 0) / signals.length;
    expect(mean).toBeGreaterThan(0.85);
    expect(mean).toBeLessThan(1.15);
    // With a planted taste and the same amount of data, clearly more.
    const b = unit(7);
    expect(
      fitTasteDirection(
        shown(200, 9, (z) => (dot(z, b) > 0.5 ? 2 : 0)),
        NZ,
      ).signal,
    ).toBeGreaterThan(2);
  });

  it('contrasts with what was shown: a voter who upvotes everything adds nothing', () => {
    const b = unit(3);
    const base = shown(300, 4, (z) => (dot(z, b) > 0.7 ? 1 : 0));
    const a = fitTasteDirection(base, NZ);
    const everyone = fitTasteDirection(
      base.map((s) => ({ ...s, votes: s.votes + 1 })),
      NZ,
    );
    // Same direction (the indiscriminate votes dilute the magnitude only).
    expect(dot(a.direction, everyone.direction)).toBeGreaterThan(0.99);
    expect(everyone.norm).toBeLessThan(a.norm);
    // Only indiscriminate votes: no direction at all.
    const flat = fitTasteDirection(
      base.map((s) => ({ ...s, votes: 1 })),
      NZ,
    );
    expect(flat.norm).toBeLessThan(1e-9);
    expect(flat.shrink).toBe(0);
  });

  it('is not fooled by shown designs that were already steered', () => {
    // Every shown design sits 2σ along `bias`; votes depend only on `b`.
    const b = unit(11);
    const bias = unit(12);
    const samples = shown(500, 13, () => 0).map((s) => {
      const latent = s.latent.map((x, j) => x + 2 * bias[j]);
      return { ...s, latent, votes: dot(latent, b) > 0.6 ? 1 : 0 };
    });
    const fit = fitTasteDirection(samples, NZ);
    expect(dot(fit.direction, b)).toBeGreaterThan(0.7);
    expect(Math.abs(dot(fit.direction, bias) - dot(b, bias) * dot(fit.direction, b))).toBeLessThan(0.25);
  });

  it('compares designs within their grid: grid-wide shifts, unvoted grids and single designs change nothing', () => {
    const b = unit(41);
    const bias = unit(42);
    // 60 plain grids of 4, the design with the largest projection on b gets 2 votes.
    const plain = shown(240, 43, () => 0).map((s, i) => ({ ...s, group: `m${Math.floor(i / 4)}` }));
    for (let g = 0; g < 60; g++) {
      const grid = plain.slice(g * 4, g * 4 + 4);
      const best = grid.reduce((x, s, i) => (dot(s.latent, b) > dot(grid[x].latent, b) ? i : x), 0);
      grid[best].votes = 2;
    }
    const fit = fitTasteDirection(plain, NZ);
    expect(dot(fit.direction, b)).toBeGreaterThan(0.6);
    expect(fit.preferred).toBe(60);
    // Steered grids (every design 2σ along `bias`) just posted, nobody voted yet; a single-design
    // message with votes; a grid where a member upvoted everything.
    const steered = shown(40, 44, () => 0).map((s, i) => ({
      ...s,
      latent: s.latent.map((x, j) => x + 2 * bias[j]),
      group: `s${Math.floor(i / 4)}`,
    }));
    const single = shown(1, 45, () => 3).map((s) => ({ ...s, group: 'single' }));
    const all = shown(4, 46, () => 1).map((s) => ({ ...s, group: 'everything' }));
    const more = fitTasteDirection([...plain, ...steered, ...single, ...all], NZ);
    for (let j = 0; j < NZ; j++) expect(more.direction[j]).toBeCloseTo(fit.direction[j], 1);
    expect(dot(more.direction, fit.direction)).toBeGreaterThan(0.999);
    expect(more.preferred).toBe(60);
    expect(more.voted).toBe(65);
    // The same grids without grouping would mix the steered shift into the contrast.
    const ungrouped = fitTasteDirection(
      [...plain, ...steered].map(({ group: _g, ...s }) => s),
      NZ,
    );
    expect(dot(ungrouped.direction, bias)).toBeLessThan(dot(more.direction, bias) - 0.1);
  });

  it('ignores latents of another size and zero weights; no votes: an empty, harmless fit', () => {
    const b = unit(5);
    const good = shown(200, 6, (z) => (dot(z, b) > 0.5 ? 1 : 0));
    const fit = fitTasteDirection(good, NZ);
    const noisy = fitTasteDirection(
      [
        ...good,
        { latent: new Float32Array(64).fill(5), votes: 9, weight: 1 },
        { latent: new Float32Array(NZ).fill(5), votes: 9, weight: 0 },
      ],
      NZ,
    );
    expect(Array.from(noisy.direction)).toEqual(Array.from(fit.direction));
    expect(noisy.shown).toBe(200);
    const none = fitTasteDirection(
      good.map((s) => ({ ...s, votes: 0 })),
      NZ,
    );
    expect(none.voted).toBe(0);
    expect(none.shrink).toBe(0);
    expect(Array.from(none.direction).every((x) => x === 0)).toBe(true);
  });

  it('down-weighted designs count less', () => {
    const b = unit(21);
    const c = unit(22);
    // Current checkpoint likes b, an old one (weight 1/8) liked c.
    const now = shown(300, 23, (z) => (dot(z, b) > 0.5 ? 1 : 0));
    const old = shown(300, 24, (z) => (dot(z, c) > 0.5 ? 1 : 0), 1 / 8);
    const fit = fitTasteDirection([...old, ...now], NZ);
    expect(dot(fit.direction, b)).toBeGreaterThan(2 * Math.abs(dot(fit.direction, c)));
    expect(fit.weightedVoted).toBeCloseTo(now.filter((s) => s.votes).length + old.filter((s) => s.votes).length / 8, 6);
  });
});

describe('steerLatents', () => {
  const d = unit(31);
  const z0 = latentsForSeed(42, 64, NZ);

  it('shift 0 is plain sampling, bit for bit', () => {
    const out = steerLatents(z0, 64, d, 0);
    expect(Buffer.from(out.buffer).equals(Buffer.from(z0.buffer))).toBe(true);
    expect(out).not.toBe(z0);
    expect(steeringShift({ shrink: 0.9 }, 0)).toBe(0);
  });

  it('moves every latent along d by about the shift, keeping its norm', () => {
    const shift = steeringShift({ shrink: 1 }, 0.6);
    expect(shift).toBeCloseTo(0.6 * STEER_SIGMA, 12);
    const out = steerLatents(z0, 64, d, shift);
    const p0 = projections(z0, 64, d);
    const p1 = projections(out, 64, d);
    let gain = 0;
    for (let i = 0; i < 64; i++) {
      const row0 = z0.subarray(i * NZ, (i + 1) * NZ);
      const row1 = out.subarray(i * NZ, (i + 1) * NZ);
      expect(Math.hypot(...row1) / Math.hypot(...row0)).toBeCloseTo(1, 5);
      expect(p1[i]).toBeGreaterThan(p0[i]);
      gain += p1[i] - p0[i];
    }
    // |z| ≈ 10 ≫ shift: the rescaling costs only a few per cent of the shift.
    expect(gain / 64).toBeGreaterThan(0.9 * shift);
    expect(gain / 64).toBeLessThan(1.05 * shift);
  });

  it('is deterministic and moves the other directions only by the common rescaling', () => {
    const a = steerLatents(z0, 64, d, 1.5);
    const b = steerLatents(z0, 64, d, 1.5);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    // The part orthogonal to d keeps its direction (designs stay as diverse as plain ones).
    const row0 = z0.slice(0, NZ);
    const row1 = a.slice(0, NZ);
    const perp = (r: Float32Array) => {
      const p = dot(r, d);
      return r.map((x, j) => x - p * d[j]);
    };
    const u = perp(row0);
    const v = perp(row1);
    expect(dot(u, v) / (Math.hypot(...u) * Math.hypot(...v))).toBeCloseTo(1, 5);
  });

  it('rejects mismatched shapes', () => {
    expect(() => steerLatents(new Float32Array(10), 1, d, 1)).toThrow(/expected 1 x 100/);
    expect(() => steerLatents(z0, 64, d, NaN)).toThrow(/finite/);
  });
});

describe('checkpointWeights', () => {
  const order = [
    { version: 'v3', time: 3000 },
    { version: 'v1', time: 1000 },
    { version: 'v2', time: 2000 },
    { version: 'v4', time: 4000 },
  ];

  it('halves per checkpoint between a design’s and the served one', () => {
    const w = checkpointWeights(order, 'v4');
    expect(Object.fromEntries(w)).toEqual({ v1: 0.125, v2: 0.25, v3: 0.5, v4: 1 });
  });

  it('after a rollback, newer checkpoints are down-weighted too', () => {
    const w = checkpointWeights(order, 'v2');
    expect(Object.fromEntries(w)).toEqual({ v1: 0.5, v2: 1, v3: 0.5, v4: 0.25 });
  });

  it('ties break by version name; an unknown served version counts alone', () => {
    const w = checkpointWeights(
      [
        { version: 'b', time: 5 },
        { version: 'a', time: 5 },
      ],
      'b',
    );
    expect(Object.fromEntries(w)).toEqual({ a: 0.5, b: 1 });
    expect(Object.fromEntries(checkpointWeights(order, 'x'))).toEqual({ x: 1 });
  });
});

describe('tasteFingerprint', () => {
  it('changes with the direction and the shrink, not otherwise', () => {
    const d = unit(1);
    expect(tasteFingerprint(d, 0.5)).toBe(tasteFingerprint(new Float32Array(d), 0.5));
    expect(tasteFingerprint(d, 0.5)).not.toBe(tasteFingerprint(d, 0.6));
    expect(tasteFingerprint(d, 0.5)).not.toBe(tasteFingerprint(unit(2), 0.5));
    expect(tasteFingerprint(d, 0.5)).toMatch(/^[0-9a-f]{6}$/);
  });
});
