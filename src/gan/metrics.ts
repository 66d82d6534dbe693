/**
 * Quality metrics of a generator: KID, FID and the share of sneakers among
 * generated images against the dataset's held-out real images. Grey models are
 * judged on the Fashion-MNIST classifier's features (src/gan/classifier.ts),
 * colour models get KID/FID on a pretrained ImageNet backbone
 * (src/gan/perceptual-metric.ts) with the classifier's sneaker shares beside
 * them. The distances themselves are src/gan/distances.ts.
 */
import { comparePerceptual, generatePixels, type GeneratorLike } from './perceptual-metric.ts';
import { fidFromFeatures, kernelInceptionDistance } from './distances.ts';
import {
  classShare,
  extractFeatures,
  loadFeatureExtractor,
  SNEAKER,
  type Features,
  type ImageSet,
} from './classifier.ts';
import { CLASSIFIER_METRIC } from './quality.ts';

/** Real reference images as stored in a packed dataset (uint8 NHWC). */
export interface HeldoutImages {
  images: Uint8Array;
  height: number;
  width: number;
  channels: number;
  /** FMNIST is black; folder imports are white (inverted before the classifier). */
  background?: 'black' | 'white';
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
export async function compareToReal(
  fake: ImageSet,
  real: HeldoutImages,
  opts: CompareOptions = {},
): Promise<QualityMetrics> {
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

export interface EvaluateOptions extends CompareOptions {
  /** Generated samples (default 1000). */
  n?: number;
  /** Latent seed for the samples (default 20171).*/
  latentSeed?: number;
  /** Colour models: KID/FID on the perceptual metric (default true). */
  perceptual?: boolean;
}

/** Accepts what callers have at hand: a loaded Dataset, held-out images with shape, or the raw held-out bytes. */
export type HeldoutInput =
  | HeldoutImages
  | { meta: { height: number; width: number; channels: number; background?: 'black' | 'white' }; heldout: Uint8Array }
  | Uint8Array;

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
        ? {
            images: heldout.heldout,
            height: heldout.meta.height,
            width: heldout.meta.width,
            channels: heldout.meta.channels,
            background: heldout.meta.background,
          }
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
export async function compareSamples(
  fake: ImageSet,
  real: HeldoutImages,
  opts: EvaluateOptions = {},
): Promise<QualityMetrics> {
  const classifier = await compareToReal(fake, real, opts);
  const { h, w, c } = fake.shape;
  const sameColourShape = c === 3 && real.channels === 3 && real.height === h && real.width === w;
  if (!sameColourShape || opts.perceptual === false) return classifier;
  const p = await comparePerceptual({ pixels: fake.pixels, n: fake.shape.n }, real);
  // kidStd (spread over subsets) has no counterpart here: kidSe is the perceptual metric's uncertainty.
  return { ...classifier, kid: p.kid, kidStd: NaN, kidSe: p.kidSe, fid: p.fid, nReal: p.nReal, metric: p.metric };
}
