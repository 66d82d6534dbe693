/**
 * Dense symmetric linear algebra in float64 for the FID (src/gan/distances.ts):
 * eigenvalues by Householder + QL (fast, values only, for the sample-space FID's
 * Gram matrices), full eigen-decomposition by Jacobi rotations (values and
 * vectors, for matrix square roots), the PSD square root itself and the
 * square matrix product the feature-space FID needs.
 * Row-major Float64Arrays throughout.
 */

/** sign(a, b) of Numerical Recipes: |a| with the sign of b. */
const withSign = (a: number, b: number): number => (b >= 0 ? Math.abs(a) : -Math.abs(a));

/**
 * Eigenvalues of a symmetric matrix `A` [n, n] (row-major; only the lower
 * triangle is read; not modified): Householder reduction to tridiagonal form,
 * then the implicit QL algorithm (Numerical Recipes' tred2/tqli without
 * eigenvectors), O(n^3) with a small constant. Unsorted.
 */
export function symmetricEigenvalues(A: Float64Array, n: number): Float64Array {
  const { d, e } = householderTridiagonal(Float64Array.from(A), n);
  implicitQl(d, e, n);
  return d;
}

/**
 * Householder reduction (tred2 without eigenvectors) of `a` [n, n], overwritten: the
 * tridiagonal form's diagonal `d` and its off-diagonal `e`, shifted so e[i] couples d[i] and
 * d[i + 1] (e[n - 1] = 0), as the QL step wants it.
 */
function householderTridiagonal(a: Float64Array, n: number): { d: Float64Array; e: Float64Array } {
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
  return { d, e };
}

/**
 * The implicit QL algorithm (tqli without eigenvectors) on a tridiagonal matrix: its diagonal
 * `d` becomes the eigenvalues (unsorted), `e` is destroyed.
 */
function implicitQl(d: Float64Array, e: Float64Array, n: number): void {
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
}

/**
 * Eigen-decomposition of a symmetric matrix A [n, n] (row-major) by cyclic
 * Jacobi rotations: A = V diag(values) V^T, eigenvectors in V's columns.
 * Accurate to ~1e-12 relative; O(n^3) per sweep, fine for n <= a few hundred.
 */
export function symmetricEigen(A: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(A);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += a[i] * a[i];
  const tol = 1e-24 * Math.max(scale, 1e-300);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    if (off <= tol) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        // Stable rotation angle (Numerical Recipes' formulation).
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/**
 * Principal square root of a symmetric positive semi-definite matrix
 * [n, n]: V diag(sqrt(max(λ, 0))) V^T (tiny negative eigenvalues from
 * rounding are clipped to 0).
 */
export function sqrtmPsd(A: Float64Array, n: number): Float64Array {
  const { values, vectors: V } = symmetricEigen(A, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(values[k], 0));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = V[i * n + k] * s;
      if (vik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += vik * V[j * n + k];
    }
  }
  return out;
}

/** A B for square matrices A, B [n, n]. */
export function squareMatMul(A: Float64Array, B: Float64Array, n: number): Float64Array {
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = A[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) C[i * n + j] += aik * B[k * n + j];
    }
  }
  return C;
}
