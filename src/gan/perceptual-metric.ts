/**
 * The quality metric for colour models: FID and KID (± standard error) of
 * generated images against the dataset's held-out real images, on features of
 * a pretrained ImageNet network (src/gan/perceptual.ts). Which network, at
 * which input size and with how many images was chosen by measurement
 * (`npm run bench:metric`, README "Quality metric"): the setting that orders
 * real < blurred < early < late training < untrained/collapsed reliably while
 * one evaluation stays within ~2 minutes on 2 CPU cores.
 */
import { tf } from '../tf/index.ts';
import { latentsForSeed } from './latent.ts';
import { fidSampleSpace, kidWithStandardError } from './distances.ts';
import { loadPerceptualExtractor, perceptualFeatures, type PerceptualNet } from './perceptual.ts';

/** The metric's setting for colour models. */
export const PERCEPTUAL_METRIC = { net: 'mobilenet_v2' as PerceptualNet, inputSize: 128, samples: 1000 };

/** Name stored with a checkpoint's figures: figures of different metrics are never compared. */
export const perceptualMetricId = (net = PERCEPTUAL_METRIC.net, inputSize = PERCEPTUAL_METRIC.inputSize): string =>
  `${net}@${inputSize}`;

/** A generator: a layers model ([n, nz] -> [n, H, W, C] in [-1, 1]) or a function doing the same on Float32Arrays. */
export type GeneratorLike = tf.LayersModel | ((latents: Float32Array, n: number) => Promise<Float32Array>);

/**
 * `n` images from the fixed latents `latentsForSeed(latentSeed)`, in batches
 * of 100: [n, H, W, C] in [-1, 1] as one Float32Array. No tensor leaks.
 */
export async function generatePixels(
  generator: GeneratorLike,
  cfg: { imageSize: number; channels: number; nz: number },
  n: number,
  latentSeed: number,
): Promise<Float32Array> {
  const zAll = latentsForSeed(latentSeed, n, cfg.nz);
  const per = cfg.imageSize * cfg.imageSize * cfg.channels;
  const pixels = new Float32Array(n * per);
  const bs = 100;
  for (let s = 0; s < n; s += bs) {
    const m = Math.min(bs, n - s);
    const z = zAll.subarray(s * cfg.nz, (s + m) * cfg.nz);
    let out: Float32Array;
    if (typeof generator === 'function') out = await generator(z, m);
    else {
      const t = tf.tidy(() => generator.predict(tf.tensor2d(z, [m, cfg.nz])) as tf.Tensor);
      out = (await t.data()) as Float32Array;
      t.dispose();
    }
    if (out.length !== m * per)
      throw new Error(`generator produced ${out.length / m} values per image, config says ${per}`);
    pixels.set(out, s * per);
  }
  return pixels;
}

/**
 * Gaussian blur of `n` uint8 NHWC images (separable, taps to 3 sigma,
 * edges clamped): the metric's "slightly worse than real" check.
 */
export function gaussianBlurU8(src: Uint8Array, n: number, h: number, w: number, c: number, sigma: number): Uint8Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const taps = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = taps.reduce((a, b) => a + b, 0);
  const k = taps.map((t) => t / sum);
  const out = new Uint8Array(src.length);
  const tmp = new Float32Array(h * w * c);
  const per = h * w * c;
  for (let i = 0; i < n; i++) {
    const o = i * per;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let t = -r; t <= r; t++) s += k[t + r] * src[o + (y * w + Math.min(w - 1, Math.max(0, x + t))) * c + ch];
          tmp[(y * w + x) * c + ch] = s;
        }
      }
    }
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let t = -r; t <= r; t++) s += k[t + r] * tmp[(Math.min(h - 1, Math.max(0, y + t)) * w + x) * c + ch];
          out[o + (y * w + x) * c + ch] = Math.round(s);
        }
      }
    }
  }
  return out;
}

export interface PerceptualMetrics {
  /** Unbiased MMD^2 (cubic kernel) on the network's features, all images. */
  kid: number;
  /** Standard error of `kid` (disjoint blocks, see kidWithStandardError). */
  kidSe: number;
  fid: number;
  /** Generated / real images compared. */
  n: number;
  nReal: number;
  /** e.g. "mobilenet_v2@128". */
  metric: string;
}

/** Held-out features per pixel buffer and metric: evaluated at every checkpoint, computed once per process. */
const realCache = new WeakMap<Uint8Array, Map<string, Float64Array>>();

/**
 * Compares generated images (`fake`, [-1, 1]) with real uint8 images
 * (`real`, same shape per image). No tensor outlives the call.
 */
export async function comparePerceptual(
  fake: { pixels: Float32Array | Uint8Array; n: number },
  real: { images: Uint8Array; height: number; width: number; channels: number },
  opts: { net?: PerceptualNet; inputSize?: number } = {},
): Promise<PerceptualMetrics> {
  const net = opts.net ?? PERCEPTUAL_METRIC.net;
  const inputSize = opts.inputSize ?? PERCEPTUAL_METRIC.inputSize;
  const ex = await loadPerceptualExtractor(net, inputSize);
  const { height: h, width: w, channels: c } = real;
  const nReal = Math.floor(real.images.length / (h * w * c));
  let byMetric = realCache.get(real.images);
  if (!byMetric) realCache.set(real.images, (byMetric = new Map()));
  let fr = byMetric.get(ex.id);
  if (!fr) {
    fr = await perceptualFeatures(ex, real.images, { n: nReal, h, w, c });
    byMetric.set(ex.id, fr);
  }
  const ff = await perceptualFeatures(ex, fake.pixels, { n: fake.n, h, w, c });
  const d = ex.featureDim;
  const k = kidWithStandardError(ff, fake.n, fr, nReal, d);
  return { kid: k.kid, kidSe: k.se, fid: fidSampleSpace(ff, fake.n, fr, nReal, d), n: fake.n, nReal, metric: ex.id };
}
