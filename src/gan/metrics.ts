/**
 * Quality metric for generator checkpoints.
 *
 * Feature extractor: a fixed Fashion-MNIST classifier shipped in
 * models/classifier/ (TF.js layers format: model.json + weights.bin, written
 * and read with our own handlers because there is no file:// IO without
 * tfjs-node; trained by src/bin/train-classifier.ts). Input [n, 32, 32, 1] in
 * [-1, 1] (light object on black, as FMNIST); outputs its 128-d penultimate
 * "features" layer and the 10 class probabilities. Inception would be the
 * classic choice but is ~100 MB and knows nothing special about 32px shoes.
 *
 * Figures: KID (unbiased MMD^2, cubic polynomial kernel, over subsets), FID
 * (Fréchet distance of Gaussian fits; matrix square roots by Jacobi
 * eigen-decomposition in float64) and the share of samples classified as
 * Sneaker (class 7), generated vs the dataset's held-out images.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../tf/index.ts';
import { comparePerceptual, generatePixels, type GeneratorLike } from './perceptual-metric.ts';
import { polyGram } from './distances.ts';
import { CLASSIFIER_METRIC } from './checkpoint.ts';

export const CLASSIFIER_INPUT = 32;
export const FEATURE_LAYER = 'features';
/** models/classifier relative to the repository root (not MODELS_DIR: it is code, not a checkpoint). */
export const CLASSIFIER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../models/classifier');

/**
 * Builds the (untrained) classifier: three 3x3 conv + ReLU + 2x2 max-pool
 * blocks (16, 32, 64 channels), dense 128 ReLU ("features"), dense 10 softmax.
 * ~155k parameters (~620 KB float32).
 */
export function buildClassifier(seed = 1): tf.LayersModel {
  const init = (i: number) => tf.initializers.heNormal({ seed: seed * 100 + i });
  const m = tf.sequential({ name: 'fmnist_classifier' });
  m.add(tf.layers.conv2d({ inputShape: [32, 32, 1], filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2) }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(3) }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 128, activation: 'relu', name: FEATURE_LAYER, kernelInitializer: init(4) }));
  m.add(tf.layers.dense({ units: 10, activation: 'softmax', name: 'probs', kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 100 + 5 }) }));
  return m;
}

/** Writes a layers model as model.json + weights.bin into `dir` (plus optional info.json). */
export async function saveLayersModel(model: tf.LayersModel, dir: string, info?: Record<string, unknown>): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData as ArrayBuffer;
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      await fs.writeFile(path.join(dir, 'weights.bin'), Buffer.from(weightData));
      await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson));
      if (info) await fs.writeFile(path.join(dir, 'info.json'), JSON.stringify(info, null, 2) + '\n');
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weightData.byteLength } };
    }),
  );
}

/** Loads a layers model written by saveLayersModel (or any single-shard TF.js layers model). */
export async function loadLayersModelFromDir(dir: string): Promise<tf.LayersModel> {
  let json: { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${path.join(dir, 'model.json')}: ${(err as Error).message}`);
  }
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const buffers = await Promise.all(json.weightsManifest.flatMap((g) => g.paths).map((p) => fs.readFile(path.join(dir, p))));
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
}

export interface FeatureExtractor {
  /** [n, 32, 32, 1] in [-1, 1] -> features [n, 128] and probabilities [n, 10] (caller disposes). */
  apply(x: tf.Tensor4D): { features: tf.Tensor2D; probs: tf.Tensor2D };
  featureDim: number;
}

const extractors = new Map<string, Promise<FeatureExtractor>>();

/**
 * Loads a classifier (default: the shipped one) once per process and
 * directory, and exposes its features and probabilities. Cached: callers
 * must not dispose it.
 */
export function loadFeatureExtractor(dir = CLASSIFIER_DIR): Promise<FeatureExtractor> {
  const key = path.resolve(dir);
  let p = extractors.get(key);
  if (!p) {
    p = makeExtractor(key).catch((err) => {
      extractors.delete(key);
      throw err;
    });
    extractors.set(key, p);
  }
  return p;
}

async function makeExtractor(dir: string): Promise<FeatureExtractor> {
  const model = await loadLayersModelFromDir(dir).catch((err: Error) => {
    throw new Error(`quality-metric classifier missing or unreadable in ${dir} (${err.message}); run: npm run classifier:train`);
  });
  const both = tf.model({ inputs: model.inputs, outputs: [model.getLayer(FEATURE_LAYER).output as tf.SymbolicTensor, model.outputs[0]] });
  const featureDim = (model.getLayer(FEATURE_LAYER).outputShape as number[])[1];
  return {
    featureDim,
    apply(x) {
      const [features, probs] = both.predict(x) as tf.Tensor2D[];
      return { features, probs };
    },
  };
}

// ---------------------------------------------------------------------------
// Quality metric: KID, FID and sneaker share from the classifier's features.
// ---------------------------------------------------------------------------

/** Images for the metric: `pixels` in [-1, 1], NHWC with `shape`. */
export interface ImageSet {
  pixels: Float32Array;
  shape: { n: number; h: number; w: number; c: number };
}

/** Real reference images as stored in a packed dataset (uint8 NHWC). */
export interface HeldoutImages {
  images: Uint8Array;
  height: number;
  width: number;
  channels: number;
  /** FMNIST is black; folder imports are white (inverted before the classifier). */
  background?: 'black' | 'white';
}

export interface Features {
  /** [n, d] row-major, float64 for stable covariance sums. */
  features: Float64Array;
  /** [n, 10] class probabilities. */
  probs: Float32Array;
  n: number;
  d: number;
}

export interface QualityMetrics {
  /** Kernel Inception Distance on the classifier's features (unbiased MMD^2, cubic polynomial kernel), mean over subsets. */
  kid: number;
  /** Standard deviation of KID over the subsets. */
  kidStd: number;
  /** Fréchet distance between Gaussian fits of the features. */
  fid: number;
  /** Share of generated images the classifier calls class 7 (Sneaker): arg-max. */
  sneakerShare: number;
  /**
   * Share with p(Sneaker) > 0.9. Arg-max saturates early (grey blobs of a
   * shoe's outline already win it); confidence separates them: real held-out
   * sneakers ~0.85, an early checkpoint's blobs ~0.01.
   */
  confidentSneakerShare: number;
  /** Generated images evaluated. */
  n: number;
  /** Real (held-out) images compared against. */
  nReal: number;
  /**
   * Which features KID/FID were computed on: CLASSIFIER_METRIC (Fashion-MNIST
   * classifier, grey 32 px models) or a perceptual one such as
   * 'mobilenet_v2@128' (colour models). Figures of different metrics are never compared.
   */
  metric: string;
  /** Standard error of KID (perceptual metric only). */
  kidSe?: number;
}

export { CLASSIFIER_METRIC };

const SNEAKER = 7;

/**
 * [n, h, w, c] in [-1, 1] (any size, grey or RGB) -> the classifier's input
 * [n, 32, 32, 1]: luma for RGB, area-average (or bilinear) to 32x32, and
 * negated when `invert` (dark-on-white photos -> FMNIST's light-on-black).
 * Runs inside the caller's tidy.
 */
export function toClassifierInput(x: tf.Tensor4D, invert: boolean): tf.Tensor4D {
  let g: tf.Tensor4D = x;
  const [, h, w, c] = x.shape;
  if (c === 3) {
    // Luma weights sum to 1, so [-1, 1] stays [-1, 1].
    g = tf.sum(tf.mul(x, tf.tensor1d([0.299, 0.587, 0.114])), -1, true) as tf.Tensor4D;
  } else if (c !== 1) throw new Error(`images must have 1 or 3 channels, got ${c}`);
  if (h !== CLASSIFIER_INPUT || w !== CLASSIFIER_INPUT) {
    // Integer downscale: average pooling is an exact area filter (no aliasing).
    g = h === w && h % CLASSIFIER_INPUT === 0
      ? (tf.avgPool(g, h / CLASSIFIER_INPUT, h / CLASSIFIER_INPUT, 'valid') as tf.Tensor4D)
      : tf.image.resizeBilinear(g, [CLASSIFIER_INPUT, CLASSIFIER_INPUT]);
  }
  return invert ? tf.neg(g) : g;
}

/**
 * Runs the classifier over `set` in batches. Returns features [n, d] and
 * probabilities [n, 10] as plain arrays; no tensor outlives the call.
 */
export async function extractFeatures(
  extractor: FeatureExtractor,
  set: ImageSet,
  opts: { invert?: boolean; batchSize?: number } = {},
): Promise<Features> {
  const { n, h, w, c } = set.shape;
  if (set.pixels.length !== n * h * w * c) throw new Error(`pixel array has ${set.pixels.length} values, shape needs ${n * h * w * c}`);
  const d = extractor.featureDim;
  const features = new Float64Array(n * d);
  const probs = new Float32Array(n * 10);
  const bs = opts.batchSize ?? 200;
  const per = h * w * c;
  for (let s = 0; s < n; s += bs) {
    const m = Math.min(bs, n - s);
    const [f, p] = tf.tidy(() => {
      const x = tf.tensor4d(set.pixels.subarray(s * per, (s + m) * per), [m, h, w, c]);
      const out = extractor.apply(toClassifierInput(x, opts.invert ?? false));
      return [out.features, out.probs];
    });
    const [fd, pd] = await Promise.all([f.data(), p.data()]);
    tf.dispose([f, p]);
    features.set(fd, s * d);
    probs.set(pd, s * 10);
  }
  return { features, probs, n, d };
}

/**
 * Share of rows of `probs` ([n, 10]) whose arg-max is `cls` (default 7 =
 * Sneaker), or, with `minProb`, whose probability of `cls` exceeds it.
 */
export function classShare(probs: Float32Array, n: number, cls = SNEAKER, minProb?: number): number {
  let hits = 0;
  for (let i = 0; i < n; i++) {
    if (minProb !== undefined) {
      if (probs[i * 10 + cls] > minProb) hits++;
      continue;
    }
    let best = 0;
    for (let k = 1; k < 10; k++) if (probs[i * 10 + k] > probs[i * 10 + best]) best = k;
    if (best === cls) hits++;
  }
  return n > 0 ? hits / n : 0;
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

function matMul(A: Float64Array, B: Float64Array, n: number): Float64Array {
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
export function frechetDistance(mu1: Float64Array, S1: Float64Array, mu2: Float64Array, S2: Float64Array, d: number): number {
  let diff = 0;
  for (let k = 0; k < d; k++) diff += (mu1[k] - mu2[k]) ** 2;
  let tr = 0;
  for (let k = 0; k < d; k++) tr += S1[k * d + k] + S2[k * d + k];
  const r1 = sqrtmPsd(S1, d);
  const M = matMul(matMul(r1, S2, d), r1, d);
  // Symmetrise away rounding before the eigen-solver.
  for (let a = 0; a < d; a++) for (let b = a + 1; b < d; b++) M[a * d + b] = M[b * d + a] = (M[a * d + b] + M[b * d + a]) / 2;
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

export interface CompareOptions {
  /** Negate images before the classifier (dark-on-white data); default: from the real set's background. */
  invert?: boolean;
  subsets?: number;
  subsetSize?: number;
  seed?: number;
  batchSize?: number;
  classifierDir?: string;
}

/** Real reference features, cached per pixel buffer (the held-out set is evaluated at every checkpoint). */
const realCache = new WeakMap<Uint8Array | Float32Array, Map<string, Features>>();

function heldoutToSet(h: HeldoutImages, limit?: number): ImageSet {
  const per = h.height * h.width * h.channels;
  const total = Math.floor(h.images.length / per);
  const n = Math.min(total, limit ?? total);
  const pixels = new Float32Array(n * per);
  for (let i = 0; i < pixels.length; i++) pixels[i] = h.images[i] / 127.5 - 1;
  return { pixels, shape: { n, h: h.height, w: h.width, c: h.channels } };
}

/** Whether the images' border is mostly light (dark objects photographed on white). */
function lightBackground(h: HeldoutImages): boolean {
  const { height: H, width: W, channels: C } = h;
  const per = H * W * C;
  const n = Math.min(200, Math.floor(h.images.length / per));
  let sum = 0;
  let cnt = 0;
  for (let i = 0; i < n; i++) {
    for (let x = 0; x < W; x++) {
      for (const y of [0, H - 1]) {
        sum += h.images[i * per + (y * W + x) * C];
        cnt++;
      }
    }
  }
  return cnt > 0 && sum / cnt > 127;
}

/**
 * Compares generated images with real ones: KID and FID on the classifier's
 * 128-d features, plus the generated images' sneaker share. `fake`: [-1, 1]
 * NHWC; `real`: packed uint8 held-out images. No tensor outlives the call.
 */
export async function compareToReal(fake: ImageSet, real: HeldoutImages, opts: CompareOptions = {}): Promise<QualityMetrics> {
  const extractor = await loadFeatureExtractor(opts.classifierDir);
  const invert = opts.invert ?? (real.background ? real.background === 'white' : lightBackground(real));
  const key = `${invert}:${opts.classifierDir ?? ''}`;
  let byKey = realCache.get(real.images);
  if (!byKey) realCache.set(real.images, (byKey = new Map()));
  let rf = byKey.get(key);
  if (!rf) {
    rf = await extractFeatures(extractor, heldoutToSet(real), { invert, batchSize: opts.batchSize });
    byKey.set(key, rf);
  }
  const ff = await extractFeatures(extractor, fake, { invert, batchSize: opts.batchSize });
  const kid = kernelInceptionDistance(ff.features, ff.n, rf.features, rf.n, ff.d, opts);
  const fid = fidFromFeatures(ff.features, ff.n, rf.features, rf.n, ff.d);
  return {
    kid: kid.mean,
    kidStd: kid.std,
    fid,
    sneakerShare: classShare(ff.probs, ff.n),
    confidentSneakerShare: classShare(ff.probs, ff.n, SNEAKER, 0.9),
    n: ff.n,
    nReal: rf.n,
    metric: CLASSIFIER_METRIC,
  };
}

export type { GeneratorLike };

export interface EvaluateOptions extends CompareOptions {
  /** Generated samples (default 1000). */
  n?: number;
  /** Latent seed for the samples (default 20171).*/
  latentSeed?: number;
  /** Colour models: KID/FID on the perceptual metric (default true). */
  perceptual?: boolean;
}

/** Accepts what callers have at hand: a loaded Dataset, held-out images with shape, or the raw held-out bytes. */
export type HeldoutInput = HeldoutImages | { meta: { height: number; width: number; channels: number; background?: 'black' | 'white' }; heldout: Uint8Array } | Uint8Array;

/**
 * Generates `opts.n` images from fixed latents (`latentsForSeed`) and
 * compares them with the held-out real images (see compareToReal). A raw
 * Uint8Array `heldout` is read with the generator's shape from `cfg`.
 * Colour models get KID/FID on the perceptual metric (comparePerceptual: a
 * pretrained ImageNet backbone; the 32 px grey classifier cannot judge colour
 * photos), with the classifier's sneaker shares beside them; grey models keep
 * the classifier's figures. `opts.perceptual: false` forces the classifier.
 * Returns {kid, kidStd, fid, sneakerShare, confidentSneakerShare, n, nReal, metric[, kidSe]}. No tensor leaks.
 */
export async function evaluateGenerator(
  generator: GeneratorLike,
  cfg: { imageSize: number; channels: number; nz: number },
  heldout: HeldoutInput,
  opts: EvaluateOptions = {},
): Promise<QualityMetrics> {
  const real: HeldoutImages =
    heldout instanceof Uint8Array
      ? { images: heldout, height: cfg.imageSize, width: cfg.imageSize, channels: cfg.channels }
      : 'meta' in heldout
        ? { images: heldout.heldout, height: heldout.meta.height, width: heldout.meta.width, channels: heldout.meta.channels, background: heldout.meta.background }
        : heldout;
  if (real.images.length === 0) throw new Error('no held-out images to compare against');
  const n = opts.n ?? 1000;
  if (!Number.isInteger(n) || n < 2) throw new Error(`n must be an integer >= 2, got ${n}`);
  const pixels = await generatePixels(generator, cfg, n, opts.latentSeed ?? 20171);
  return compareSamples({ pixels, shape: { n, h: cfg.imageSize, w: cfg.imageSize, c: cfg.channels } }, real, opts);
}

/**
 * compareToReal, with KID/FID on the perceptual metric when both sides are
 * colour images of the same size (the classifier's sneaker shares stay).
 */
export async function compareSamples(fake: ImageSet, real: HeldoutImages, opts: EvaluateOptions = {}): Promise<QualityMetrics> {
  const classifier = await compareToReal(fake, real, opts);
  const { h, w, c } = fake.shape;
  const sameColourShape = c === 3 && real.channels === 3 && real.height === h && real.width === w;
  if (!sameColourShape || opts.perceptual === false) return classifier;
  const p = await comparePerceptual({ pixels: fake.pixels, n: fake.shape.n }, real);
  // kidStd (spread over subsets) has no counterpart here: kidSe is the perceptual metric's uncertainty.
  return { ...classifier, kid: p.kid, kidStd: NaN, kidSe: p.kidSe, fid: p.fid, nReal: p.nReal, metric: p.metric };
}
