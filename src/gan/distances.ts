/**
 * Distances between two sets of image features, for high-dimensional features.
 *
 * FID: the Fréchet distance (InceptionV3's 2048, MobileNetV2's
 * 1280) computed in sample space, so its cost depends on the number of images,
 * not on d^3: with A = centred X / sqrt(nx - 1) and B = centred Y / sqrt(ny - 1)
 * (so S1 = A^T A, S2 = B^T B), the non-zero eigenvalues of S1 S2 are those of
 * (A B^T)(A B^T)^T, hence tr((S1 S2)^1/2) = sum of the singular values of A B^T,
 * an exact identity for any n and d (no regularisation of singular covariances).
 */
import { tf } from '../tf/index.ts';

/** sign(a, b) of Numerical Recipes: |a| with the sign of b. */
const withSign = (a: number, b: number): number => (b >= 0 ? Math.abs(a) : -Math.abs(a));

/**
 * Eigenvalues of a symmetric matrix `A` [n, n] (row-major; only the lower
 * triangle is read; not modified): Householder reduction to tridiagonal form,
 * then the implicit QL algorithm (Numerical Recipes' tred2/tqli without
 * eigenvectors), O(n^3) with a small constant. Unsorted.
 */
export function symmetricEigenvalues(A: Float64Array, n: number): Float64Array {
  const a = Float64Array.from(A);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    const ri = i * n;
    let h = 0;
    if (l > 0) {
      let scale = 0;
      for (let k = 0; k <= l; k++) scale += Math.abs(a[ri + k]);
      if (scale === 0) {
        e[i] = a[ri + l];
      } else {
        for (let k = 0; k <= l; k++) {
          a[ri + k] /= scale;
          h += a[ri + k] * a[ri + k];
        }
        let f = a[ri + l];
        let g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
        e[i] = scale * g;
        h -= f * g;
        a[ri + l] = f - g;
        f = 0;
        for (let j = 0; j <= l; j++) {
          const rj = j * n;
          g = 0;
          for (let k = 0; k <= j; k++) g += a[rj + k] * a[ri + k];
          for (let k = j + 1; k <= l; k++) g += a[k * n + j] * a[ri + k];
          e[j] = g / h;
          f += e[j] * a[ri + j];
        }
        const hh = f / (h + h);
        for (let j = 0; j <= l; j++) {
          const rj = j * n;
          f = a[ri + j];
          e[j] = g = e[j] - hh * f;
          for (let k = 0; k <= j; k++) a[rj + k] -= f * e[k] + g * a[ri + k];
        }
      }
    } else {
      e[i] = a[ri + l];
    }
    d[i] = h;
  }
  for (let i = 0; i < n; i++) d[i] = a[i * n + i];

  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  if (n > 0) e[n - 1] = 0;
  // Off-diagonals below this are zero for our purpose: relative to the matrix's size, not to
  // neighbouring tiny eigenvalues (a rank-deficient Gram matrix has a cluster at 0, where the
  // purely relative test of Numerical Recipes can fail to converge).
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(d[i]) + Math.abs(e[i]));
  const floor = norm * Number.EPSILON;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    let m: number;
    do {
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd || Math.abs(e[m]) <= floor) break;
      }
      if (m !== l) {
        if (iter++ === 200) throw new Error('symmetricEigenvalues: no convergence');
        let g = (d[l + 1] - d[l]) / (2 * e[l]);
        let r = Math.hypot(g, 1);
        g = d[m] - d[l] + e[l] / (g + withSign(r, g));
        let s = 1;
        let c = 1;
        let p = 0;
        let i: number;
        for (i = m - 1; i >= l; i--) {
          const f = s * e[i];
          const b = c * e[i];
          e[i + 1] = r = Math.hypot(f, g);
          if (r === 0) {
            d[i + 1] -= p;
            e[m] = 0;
            break;
          }
          s = f / r;
          c = g / r;
          g = d[i + 1] - p;
          r = (d[i] - g) * s + 2 * c * b;
          p = s * r;
          d[i + 1] = g + p;
          g = c * r - b;
        }
        if (r === 0 && i >= l) continue;
        d[l] -= p;
        e[l] = g;
        e[m] = 0;
      }
    } while (m !== l);
  }
  return d;
}

/** Rows of X [n, d] minus their mean, scaled by 1 / sqrt(n - 1); also returns the mean. */
function centreScaled(X: Float64Array, n: number, d: number): { mean: Float64Array; scaled: Float32Array; trace: number } {
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
function mmdUnbiased(Kxx: Float32Array, nx: number, Kyy: Float32Array, ny: number, Kxy: Float32Array, ix: ArrayLike<number>, iy: ArrayLike<number>): number {
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
  if (nx < 2 * blocks || ny < 2 * blocks) throw new Error(`KID needs at least ${2 * blocks} samples per set (got ${nx} and ${ny})`);
  const Kxx = polyGram(X, nx, X, nx, d);
  const Kyy = polyGram(Y, ny, Y, ny, d);
  const Kxy = polyGram(X, nx, Y, ny, d);
  const all = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);
  const kid = mmdUnbiased(Kxx, nx, Kyy, ny, Kxy, all(nx), all(ny));
  // Interleaved blocks: image i goes to block i % blocks (sets are in latent/file order, not sorted by content).
  const block = (n: number, b: number): Int32Array => Int32Array.from({ length: Math.floor((n - b - 1) / blocks) + 1 }, (_, j) => b + j * blocks);
  const vals: number[] = [];
  for (let b = 0; b < blocks; b++) vals.push(mmdUnbiased(Kxx, nx, Kyy, ny, Kxy, block(nx, b), block(ny, b)));
  const mean = vals.reduce((a, v) => a + v, 0) / blocks;
  const sd = Math.sqrt(vals.reduce((a, v) => a + (v - mean) ** 2, 0) / (blocks - 1));
  return { kid, se: sd / Math.sqrt(blocks) };
}
