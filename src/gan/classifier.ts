/**
 * The quality metric's feature extractor for grey 32 px models: a fixed
 * Fashion-MNIST classifier shipped in models/classifier/ (TF.js layers format,
 * src/gan/layers-files.ts; trained by src/bin/train-classifier.ts). Input
 * [n, 32, 32, 1] in [-1, 1] (light object on black, as FMNIST); outputs its
 * 128-d penultimate "features" layer and the 10 class probabilities.
 * Inception would be the classic choice but is ~100 MB and knows nothing
 * special about 32px shoes. The figures computed from these features are
 * src/gan/metrics.ts.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../tf/index.ts';
import { loadLayersModelFromDir } from './layers-files.ts';

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
  m.add(
    tf.layers.conv2d({
      inputShape: [32, 32, 1],
      filters: 16,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(1),
    }),
  );
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(
    tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2) }),
  );
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(
    tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(3) }),
  );
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 128, activation: 'relu', name: FEATURE_LAYER, kernelInitializer: init(4) }));
  m.add(
    tf.layers.dense({
      units: 10,
      activation: 'softmax',
      name: 'probs',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 100 + 5 }),
    }),
  );
  return m;
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
    throw new Error(
      `quality-metric classifier missing or unreadable in ${dir} (${err.message}); run: npm run classifier:train`,
    );
  });
  const both = tf.model({
    inputs: model.inputs,
    outputs: [model.getLayer(FEATURE_LAYER).output as tf.SymbolicTensor, model.outputs[0]],
  });
  const featureDim = (model.getLayer(FEATURE_LAYER).outputShape as number[])[1];
  return {
    featureDim,
    apply(x) {
      const [features, probs] = both.predict(x) as tf.Tensor2D[];
      return { features, probs };
    },
  };
}

/** Images for the metric: `pixels` in [-1, 1], NHWC with `shape`. */
export interface ImageSet {
  pixels: Float32Array;
  shape: { n: number; h: number; w: number; c: number };
}

export interface Features {
  /** [n, d] row-major, float64 for stable covariance sums. */
  features: Float64Array;
  /** [n, 10] class probabilities. */
  probs: Float32Array;
  n: number;
  d: number;
}

/** Fashion-MNIST's class 7. */
export const SNEAKER = 7;

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
    g =
      h === w && h % CLASSIFIER_INPUT === 0
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
  if (set.pixels.length !== n * h * w * c)
    throw new Error(`pixel array has ${set.pixels.length} values, shape needs ${n * h * w * c}`);
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
