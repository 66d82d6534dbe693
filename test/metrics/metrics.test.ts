import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../../src/tf/index.ts';
import { loadFashionMnist } from '../../src/data/fashion-mnist.ts';
import { Rng } from '../../src/gan/latent.ts';
import { buildGenerator } from '../../src/gan/model.ts';
import {
  classShare,
  extractFeatures,
  loadFeatureExtractor,
  toClassifierInput,
  type ImageSet,
} from '../../src/gan/classifier.ts';
import { compareToReal, evaluateGenerator, type HeldoutImages } from '../../src/gan/metrics.ts';
import { fidFromFeatures, frechetDistance, kernelInceptionDistance, meanCov } from '../../src/gan/distances.ts';
import { sqrtmPsd, symmetricEigen } from '../../src/gan/linalg.ts';

const FIX = path.resolve(import.meta.dirname, '../fixtures/fashion-mnist-mini');

function matmul(A: Float64Array, B: Float64Array, n: number): Float64Array {
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) C[i * n + j] += A[i * n + k] * B[k * n + j];
  return C;
}
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
/** Random symmetric PSD matrix B B^T (rank r) of size n. */
function randomPsd(n: number, r: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const B = Float64Array.from({ length: n * r }, () => rng.normal());
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) for (let k = 0; k < r; k++) A[i * n + j] += B[i * r + k] * B[j * r + k];
  return A;
}
/** n rows of d-dim Gaussian features with the given mean shift. */
function gaussianRows(n: number, d: number, seed: number, shift = 0, scale = 1): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n * d }, () => shift + scale * rng.normal());
}

describe('linear algebra behind FID', () => {
  it('symmetricEigen reconstructs A = V diag(λ) V^T with orthonormal V', () => {
    const n = 12;
    const rng = new Rng(5);
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) A[i * n + j] = A[j * n + i] = rng.normal();
    const { values, vectors: V } = symmetricEigen(A, n);
    const VL = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) VL[i * n + k] = V[i * n + k] * values[k];
    const Vt = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Vt[i * n + j] = V[j * n + i];
    expect(maxAbsDiff(matmul(VL, Vt, n), A)).toBeLessThan(1e-10);
    const I = matmul(Vt, V, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(I[i * n + j]).toBeCloseTo(i === j ? 1 : 0, 10);
  });

  it('sqrtmPsd on known matrices', () => {
    expect([...sqrtmPsd(Float64Array.from([4, 0, 0, 9]), 2)].map((v) => +v.toFixed(12))).toEqual([2, 0, 0, 3]);
    // [[2,1],[1,2]] has eigenvalues 3 and 1: sqrt = [[(√3+1)/2, (√3-1)/2], [(√3-1)/2, (√3+1)/2]].
    const s = sqrtmPsd(Float64Array.from([2, 1, 1, 2]), 2);
    const a = (Math.sqrt(3) + 1) / 2,
      b = (Math.sqrt(3) - 1) / 2;
    expect(maxAbsDiff(s, [a, b, b, a])).toBeLessThan(1e-12);
    // Rank-deficient PSD (rank 3 of 8) and a full-rank 40x40: sqrt(A)^2 = A.
    for (const [n, r] of [
      [8, 3],
      [40, 60],
    ]) {
      const A = randomPsd(n, r, n);
      const R = sqrtmPsd(A, n);
      expect(maxAbsDiff(matmul(R, R, n), A) / Math.max(...A.map(Math.abs))).toBeLessThan(1e-8);
    }
  });

  it('frechetDistance matches closed forms', () => {
    // 1-D: (mu1 - mu2)^2 + (s1 - s2)^2.
    expect(
      frechetDistance(Float64Array.of(1), Float64Array.of(4), Float64Array.of(3), Float64Array.of(9), 1),
    ).toBeCloseTo(4 + 1, 10);
    // Diagonal covariances commute: sum (sqrt(a) - sqrt(b))^2.
    const d = 3;
    const S1 = Float64Array.from([1, 0, 0, 0, 4, 0, 0, 0, 9]);
    const S2 = Float64Array.from([4, 0, 0, 0, 4, 0, 0, 0, 1]);
    expect(frechetDistance(new Float64Array(d), S1, new Float64Array(d), S2, d)).toBeCloseTo(1 + 0 + 4, 10);
    // Identical Gaussians: 0, with a non-diagonal covariance.
    const S = randomPsd(10, 10, 3);
    expect(frechetDistance(new Float64Array(10), S, new Float64Array(10), S, 10)).toBeLessThan(1e-8);
  });

  it('meanCov computes the unbiased covariance', () => {
    const { mean, cov } = meanCov(Float64Array.from([1, 2, 3, 6, 5, 10]), 3, 2);
    expect([...mean]).toEqual([3, 6]);
    expect([...cov]).toEqual([4, 8, 8, 16]);
  });
});

describe('KID and FID on synthetic features', () => {
  it('are ~0 for samples of one distribution and grow with the shift', async () => {
    await initTf('wasm');
    const d = 16;
    const X = gaussianRows(400, d, 1);
    const Y = gaussianRows(400, d, 2);
    const Z = gaussianRows(400, d, 3, 0.5);
    const same = kernelInceptionDistance(X, 400, Y, 400, d, { subsets: 20, subsetSize: 200 });
    const shifted = kernelInceptionDistance(X, 400, Z, 400, d, { subsets: 20, subsetSize: 200 });
    expect(Math.abs(same.mean)).toBeLessThan(3 * same.std + 0.01);
    expect(shifted.mean).toBeGreaterThan(10 * Math.abs(same.mean));
    expect(shifted.mean).toBeGreaterThan(5 * shifted.std);
    const fidSame = fidFromFeatures(X, 400, Y, 400, d);
    const fidShift = fidFromFeatures(X, 400, Z, 400, d);
    expect(fidFromFeatures(X, 400, X, 400, d)).toBeLessThan(1e-8);
    // Expected |Δmu|^2 = 16 * 0.25 = 4 for the shift; sampling noise adds ~d^2/n for both.
    expect(fidShift).toBeGreaterThan(3.3);
    expect(fidSame).toBeLessThan(1.5);
    expect(() => kernelInceptionDistance(X, 1, Y, 400, d)).toThrow(/at least 2/);
  });
});

describe('quality metric with the shipped classifier', () => {
  let sneakers: ImageSet;
  let others: ImageSet;
  let realHeld: HeldoutImages;

  const toSet = (u8: Uint8Array, n: number): ImageSet => ({
    pixels: Float32Array.from(u8.subarray(0, n * 1024), (v) => v / 127.5 - 1),
    shape: { n, h: 32, w: 32, c: 1 },
  });

  beforeAll(async () => {
    await initTf('wasm');
    const train = await loadFashionMnist(FIX, 'train', { classes: [7] });
    const notSneakers = await loadFashionMnist(FIX, 'train', { classes: [0, 1, 2, 3, 4, 6, 8] });
    const held = await loadFashionMnist(FIX, 't10k', { classes: [7] });
    sneakers = toSet(train.images, train.count);
    others = toSet(notSneakers.images, notSneakers.count);
    realHeld = { images: held.images, height: 32, width: 32, channels: 1, background: 'black' };
  });

  it('calls real sneakers sneakers and other clothes not', async () => {
    const ex = await loadFeatureExtractor();
    expect(ex.featureDim).toBe(128);
    await expect(loadFeatureExtractor('/nonexistent/classifier')).rejects.toThrow(/npm run classifier:train/);
    const before = tf.memory().numTensors;
    const fs = await extractFeatures(ex, sneakers, { batchSize: 50 });
    const fo = await extractFeatures(ex, others);
    expect(tf.memory().numTensors).toBe(before);
    expect(fs.features.length).toBe(64 * 128);
    expect(classShare(fs.probs, fs.n)).toBeGreaterThan(0.85);
    expect(classShare(fo.probs, fo.n)).toBeLessThan(0.1);
    // Probabilities sum to 1.
    expect(fs.probs.subarray(0, 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('KID/FID are ~0 for identical sets, small for real vs real and large for noise', async () => {
    const asReal: HeldoutImages = {
      images: Uint8Array.from(sneakers.pixels, (v) => Math.round((v + 1) * 127.5)),
      height: 32,
      width: 32,
      channels: 1,
    };
    const same = await compareToReal(sneakers, asReal, { subsets: 20, subsetSize: 32 });
    const real = await compareToReal(sneakers, realHeld, { subsets: 20, subsetSize: 32 });
    const rng = new Rng(9);
    const noise: ImageSet = {
      pixels: Float32Array.from({ length: 64 * 1024 }, () => rng.uniform() * 2 - 1),
      shape: { n: 64, h: 32, w: 32, c: 1 },
    };
    const bad = await compareToReal(noise, realHeld, { subsets: 20, subsetSize: 32 });
    expect(same.fid).toBeLessThan(1e-6);
    expect(Math.abs(same.kid)).toBeLessThan(0.05 * bad.kid);
    expect(bad.kid).toBeGreaterThan(5 * Math.max(real.kid, 0.01 * bad.kid));
    expect(bad.fid).toBeGreaterThan(3 * real.fid);
    expect(real.sneakerShare).toBeGreaterThan(0.85);
    expect(real.confidentSneakerShare).toBeGreaterThan(0.6);
    expect(real.confidentSneakerShare).toBeLessThanOrEqual(real.sneakerShare);
    expect(bad.sneakerShare).toBeLessThan(0.1);
    expect(bad.confidentSneakerShare).toBeLessThan(0.05);
    expect(bad).toMatchObject({ n: 64, nReal: 32 });
  });

  it('converts RGB / 64px / white-background images to the classifier input', () => {
    tf.tidy(() => {
      // A constant RGB colour -> its luma everywhere, 64 -> 32 by area averaging.
      const x = tf.mul(tf.ones([2, 64, 64, 3]), tf.tensor1d([1, -1, 0.5])) as tf.Tensor4D;
      const y = toClassifierInput(x, false);
      expect(y.shape).toEqual([2, 32, 32, 1]);
      const luma = 0.299 - 0.587 + 0.5 * 0.114;
      expect(Math.abs((y.max().dataSync()[0] as number) - luma)).toBeLessThan(1e-5);
      expect(toClassifierInput(x, true).min().dataSync()[0]).toBeCloseTo(-luma, 5);
      // A non-multiple size goes through bilinear resizing.
      expect(toClassifierInput(tf.zeros([1, 48, 48, 1]) as tf.Tensor4D, false).shape).toEqual([1, 32, 32, 1]);
    });
  });

  it('evaluateGenerator: untrained RGB 64px generator, no tensor leaks, any heldout form', async () => {
    const cfg = { imageSize: 64 as const, channels: 3 as const, nz: 8, ngf: 4, ndf: 4 };
    const g = buildGenerator(cfg, 3);
    const before = tf.memory().numTensors;
    const m = await evaluateGenerator(g, cfg, realHeld, { n: 24, subsets: 5, subsetSize: 16 });
    expect(tf.memory().numTensors).toBe(before);
    expect(m.n).toBe(24);
    expect(m.nReal).toBe(32);
    expect(m.kid).toBeGreaterThan(0);
    expect(m.fid).toBeGreaterThan(0);
    expect(m.sneakerShare).toBeLessThan(0.5);
    // Same latents -> same figures; a function generator and a Dataset-like heldout work too.
    const viaFn = await evaluateGenerator(
      async (z, n) => {
        const t = tf.tidy(() => g.predict(tf.tensor2d(z, [n, cfg.nz])) as tf.Tensor);
        const out = (await t.data()) as Float32Array;
        t.dispose();
        return out;
      },
      cfg,
      { meta: { height: 32, width: 32, channels: 1, background: 'black' }, heldout: realHeld.images },
      { n: 24, subsets: 5, subsetSize: 16 },
    );
    expect(viaFn.fid).toBeCloseTo(m.fid, 6);
    g.dispose();
    // A raw Uint8Array heldout is read with the generator's shape.
    const grey = { imageSize: 32 as const, channels: 1 as const, nz: 8, ngf: 4, ndf: 4 };
    const g2 = buildGenerator(grey, 4);
    const m2 = await evaluateGenerator(g2, grey, realHeld.images, { n: 8, subsets: 3, subsetSize: 8 });
    expect(m2.nReal).toBe(32);
    g2.dispose();
    await expect(evaluateGenerator(buildGenerator(grey, 4), grey, new Uint8Array(0))).rejects.toThrow(/no held-out/);
  });
});
