/**
 * Distances between two sets of image features: FID and KID.
 *
 * FID, the Fréchet distance between Gaussian fits of the features, two ways:
 * - in feature space (frechetDistance / fidFromFeatures): covariances [d, d] and
 *   matrix square roots by Jacobi eigen-decomposition in float64, O(d^3); used
 *   on the Fashion-MNIST classifier's 128-d features;
 * - in sample space (fidSampleSpace), for high-dimensional features (InceptionV3's
 *   2048, MobileNetV2's 1280), so its cost depends on the number of images,
 *   not on d^3: with A = centred X / sqrt(nx - 1) and B = centred Y / sqrt(ny - 1)
 *   (so S1 = A^T A, S2 = B^T B), the non-zero eigenvalues of S1 S2 are those of
 *   (A B^T)(A B^T)^T, hence tr((S1 S2)^1/2) = sum of the singular values of A B^T,
 *   an exact identity for any n and d (no regularisation of singular covariances).
 *
 * KID (Bińkowski et al. 2018), the unbiased MMD^2 with the cubic polynomial
 * kernel, two ways: the mean and spread over random subsets
 * (kernelInceptionDistance; the classifier's figures), or over all rows with a
 * standard error from disjoint blocks (kidWithStandardError; the perceptual
 * metric's). The eigen-solvers are src/gan/linalg.ts.
 */
import { tf } from '../tf/index.ts';
import { sqrtmPsd, squareMatMul, symmetricEigen, symmetricEigenvalues } from './linalg.ts';

// ---------------------------------------------------------------- FID

/** Mean [d] and unbiased covariance [d, d] of the rows of X [n, d]. */
export function meanCov(X: Float64Array, n: number, d: number): { mean: Float64Array; cov: Float64Array } {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) mean[k] += X[i * d + k];
  for (let k = 0; k < d; k++) mean[k] /= n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) row[k] = X[i * d + k] - mean[k];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] += ra * row[b];
    }
  }
  const div = Math.max(1, n - 1);
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      cov[a * d + b] /= div;
      cov[b * d + a] = cov[a * d + b];
    }
  }
  return { mean, cov };
}

/**
 * Fréchet distance between N(mu1, S1) and N(mu2, S2):
 * |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^1/2), with the trace term
 * computed as tr((S1^1/2 S2 S1^1/2)^1/2), whose argument is symmetric PSD.
 */
export function frechetDistance(
  mu1: Float64Array,
  S1: Float64Array,
  mu2: Float64Array,
  S2: Float64Array,
  d: number,
): number {
  let diff = 0;
  for (let k = 0; k < d; k++) diff += (mu1[k] - mu2[k]) ** 2;
  let tr = 0;
  for (let k = 0; k < d; k++) tr += S1[k * d + k] + S2[k * d + k];
  const r1 = sqrtmPsd(S1, d);
  const M = squareMatMul(squareMatMul(r1, S2, d), r1, d);
  // Symmetrise away rounding before the eigen-solver.
  for (let a = 0; a < d; a++)
    for (let b = a + 1; b < d; b++) M[a * d + b] = M[b * d + a] = (M[a * d + b] + M[b * d + a]) / 2;
  const { values } = symmetricEigen(M, d);
  let trSqrt = 0;
  for (const v of values) trSqrt += Math.sqrt(Math.max(v, 0));
  return Math.max(0, diff + tr - 2 * trSqrt);
}

/** FID between two feature sets X [nx, d] and Y [ny, d]. */
export function fidFromFeatures(X: Float64Array, nx: number, Y: Float64Array, ny: number, d: number): number {
  const a = meanCov(X, nx, d);
  const b = meanCov(Y, ny, d);
  return frechetDistance(a.mean, a.cov, b.mean, b.cov, d);
}

/** Rows of X [n, d] minus their mean, scaled by 1 / sqrt(n - 1); also returns the mean. */
function centreScaled(
  X: Float64Array,
  n: number,
  d: number,
): { mean: Float64Array; scaled: Float32Array; trace: number } {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) mean[k] += X[i * d + k];
  for (let k = 0; k < d; k++) mean[k] /= n;
  const s = 1 / Math.sqrt(Math.max(1, n - 1));
  const scaled = new Float32Array(n * d);
  let trace = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) {
      const v = (X[i * d + k] - mean[k]) * s;
      scaled[i * d + k] = v;
      trace += v * v;
    }
  }
  return { mean, scaled, trace };
}

/**
 * FID between feature sets X [nx, d] and Y [ny, d] (float64, row-major), in
 * sample space (see the file comment): O(nx ny d) for A B^T (a tf matMul),
 * O(nx^2 ny) + O(nx^3) in float64 for the singular values. No tensor leaks.
 */
export function fidSampleSpace(X: Float64Array, nx: number, Y: Float64Array, ny: number, d: number): number {
  if (nx < 2 || ny < 2) throw new Error(`FID needs at least 2 samples per set (got ${nx} and ${ny})`);
  // The Gram matrix is (smaller set) x (smaller set).
  if (ny < nx) return fidSampleSpace(Y, ny, X, nx, d);
  const a = centreScaled(X, nx, d);
  const b = centreScaled(Y, ny, d);
  let diff = 0;
  for (let k = 0; k < d; k++) diff += (a.mean[k] - b.mean[k]) ** 2;
  const cT = tf.tidy(() => tf.matMul(tf.tensor2d(a.scaled, [nx, d]), tf.tensor2d(b.scaled, [ny, d]), false, true));
  const C = cT.dataSync() as Float32Array;
  cT.dispose();
  // G = C C^T [nx, nx], lower triangle, float64.
  const G = new Float64Array(nx * nx);
  const row = new Float64Array(ny);
  for (let i = 0; i < nx; i++) {
    for (let k = 0; k < ny; k++) row[k] = C[i * ny + k];
    for (let j = 0; j <= i; j++) {
      let s = 0;
      const rj = j * ny;
      for (let k = 0; k < ny; k++) s += row[k] * C[rj + k];
      G[i * nx + j] = s;
    }
  }
  let trSqrt = 0;
  for (const v of symmetricEigenvalues(G, nx)) trSqrt += Math.sqrt(Math.max(v, 0));
  return Math.max(0, diff + a.trace + b.trace - 2 * trSqrt);
}

// ---------------------------------------------------------------- KID

/**
 * Polynomial-kernel Gram matrix k(a, b) = (a.b / d + 1)^3 (KID's kernel)
 * between the rows of A [na, d] and B [nb, d], with a tf matMul (XNNPACK on
 * WASM is ~50x faster than a JS loop); float32 entries, summed in float64.
 */
export function polyGram(A: Float64Array, na: number, B: Float64Array, nb: number, d: number): Float32Array {
  const k = tf.tidy(() => {
    const a = tf.tensor2d(Float32Array.from(A.subarray(0, na * d)), [na, d]);
    const b = tf.tensor2d(Float32Array.from(B.subarray(0, nb * d)), [nb, d]);
    const v = tf.add(tf.div(tf.matMul(a, b, false, true), d), 1);
    return tf.mul(tf.mul(v, v), v);
  });
  const out = k.dataSync() as Float32Array;
  k.dispose();
  return out;
}

/** Unbiased MMD^2 between rows `ix` of X and `iy` of Y, from precomputed Gram matrices. */
function mmdUnbiased(
  Kxx: Float32Array,
  nx: number,
  Kyy: Float32Array,
  ny: number,
  Kxy: Float32Array,
  ix: ArrayLike<number>,
  iy: ArrayLike<number>,
): number {
  const m = ix.length;
  const k = iy.length;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let a = 0; a < m; a++) {
    const r = ix[a] * nx;
    for (let b = 0; b < m; b++) if (a !== b) sxx += Kxx[r + ix[b]];
    const rxy = ix[a] * ny;
    for (let b = 0; b < k; b++) sxy += Kxy[rxy + iy[b]];
  }
  for (let a = 0; a < k; a++) {
    const r = iy[a] * ny;
    for (let b = 0; b < k; b++) if (a !== b) syy += Kyy[r + iy[b]];
  }
  return sxx / (m * (m - 1)) + syy / (k * (k - 1)) - (2 * sxy) / (m * k);
}

/**
 * KID (Bińkowski et al. 2018): the unbiased MMD^2 estimate with the cubic
 * polynomial kernel over all rows of X [nx, d] and Y [ny, d], and its
 * standard error: the spread of the same estimate on `blocks` disjoint
 * pairs of blocks (in a fixed order), divided by sqrt(blocks). For a
 * U-statistic the mean of the block estimates has about the variance of the
 * full-set estimate, so this is an honest error bar (slightly conservative).
 */
export function kidWithStandardError(
  X: Float64Array,
  nx: number,
  Y: Float64Array,
  ny: number,
  d: number,
  blocks = 10,
): { kid: number; se: number } {
  if (nx < 2 * blocks || ny < 2 * blocks)
    throw new Error(`KID needs at least ${2 * blocks} samples per set (got ${nx} and ${ny})`);
  const Kxx = polyGram(X, nx, X, nx, d);
  const Kyy = polyGram(Y, ny, Y, ny, d);
  const Kxy = polyGram(X, nx, Y, ny, d);
  const all = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);
  const kid = mmdUnbiased(Kxx, nx, Kyy, ny, Kxy, all(nx), all(ny));
  // Interleaved blocks: image i goes to block i % blocks (sets are in latent/file order, not sorted by content).
  const block = (n: number, b: number): Int32Array =>
    Int32Array.from({ length: Math.floor((n - b - 1) / blocks) + 1 }, (_, j) => b + j * blocks);
  const vals: number[] = [];
  for (let b = 0; b < blocks; b++) vals.push(mmdUnbiased(Kxx, nx, Kyy, ny, Kxy, block(nx, b), block(ny, b)));
  const mean = vals.reduce((a, v) => a + v, 0) / blocks;
  const sd = Math.sqrt(vals.reduce((a, v) => a + (v - mean) ** 2, 0) / (blocks - 1));
  return { kid, se: sd / Math.sqrt(blocks) };
}

/** Small deterministic PRNG (mulberry32) for KID's subset draws. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sampleWithoutReplacement(n: number, m: number, rnd: () => number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rnd() * (n - i));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p.subarray(0, m);
}

/**
 * KID (Bińkowski et al. 2018): the unbiased estimate of MMD^2 with the cubic
 * polynomial kernel, averaged over `subsets` random subsets of `subsetSize`
 * rows of each set. Features X [nx, d], Y [ny, d]. The Gram matrices are
 * computed once for all rows (O(n^2 d)), so keep n to a few thousand.
 */
export function kernelInceptionDistance(
  X: Float64Array,
  nx: number,
  Y: Float64Array,
  ny: number,
  d: number,
  opts: { subsets?: number; subsetSize?: number; seed?: number } = {},
): { mean: number; std: number } {
  const m = Math.min(opts.subsetSize ?? 500, nx, ny);
  if (m < 2) throw new Error(`KID needs at least 2 samples per set (got ${nx} and ${ny})`);
  const subsets = opts.subsets ?? 50;
  const Kxx = polyGram(X, nx, X, nx, d);
  const Kyy = polyGram(Y, ny, Y, ny, d);
  const Kxy = polyGram(X, nx, Y, ny, d);
  const rnd = mulberry32(opts.seed ?? 0x5eed);
  const vals: number[] = [];
  for (let s = 0; s < subsets; s++) {
    // Sorted indices walk each Gram row forwards: cache-friendly, ~5x faster than random order.
    const ix = sampleWithoutReplacement(nx, m, rnd).slice().sort();
    const iy = sampleWithoutReplacement(ny, m, rnd).slice().sort();
    let sxx = 0;
    let syy = 0;
    let sxy = 0;
    for (let a = 0; a < m; a++) {
      const rx = ix[a] * nx;
      const ry = iy[a] * ny;
      const rxy = ix[a] * ny;
      let tx = 0;
      let ty = 0;
      let txy = 0;
      for (let b = 0; b < m; b++) {
        tx += Kxx[rx + ix[b]];
        ty += Kyy[ry + iy[b]];
        txy += Kxy[rxy + iy[b]];
      }
      // Drop the diagonal terms k(x_a, x_a) the unbiased estimator excludes.
      sxx += tx - Kxx[rx + ix[a]];
      syy += ty - Kyy[ry + iy[a]];
      sxy += txy;
    }
    vals.push(sxx / (m * (m - 1)) + syy / (m * (m - 1)) - (2 * sxy) / (m * m));
  }
  const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
  const std = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, vals.length - 1));
  return { mean, std };
}
