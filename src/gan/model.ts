/**
 * The seed's DCGAN (pytorch/examples DCGAN, Radford et al. 2015) as tf.layers
 * models, NHWC.
 *
 * Generator, 64x64: z[n,nz] -> reshape [1,1,nz] -> tconv 4x4 valid -> 4x4x8ngf
 *   -> tconv s2 -> 8x8x4ngf -> 16x16x2ngf -> 32x32xngf (each BN + ReLU)
 *   -> tconv s2 -> 64x64xC, tanh.
 * 32 px drops the widest block (4x4x4ngf first), 128 px adds one (4x4x16ngf),
 * so the last hidden block is always ngf wide, as in the usual DCGAN variants.
 * Discriminator mirrors it: conv s2 -> ndf (LeakyReLU 0.2, no BN), then
 * conv s2 + BN + LeakyReLU doubling the width down to 4x4, then a 4x4 valid
 * conv to one logit ([n,1], no sigmoid: losses work on logits).
 * No biases (BN follows every hidden conv); conv weights N(0, 0.02), BN gamma
 * N(1, 0.02), beta 0 — drawn from shoebot's seeded PRNG so an initialisation
 * is reproducible and backend-independent.
 */
import { tf } from '../tf/index.ts';
import { Rng } from './latent.ts';

export interface GanConfig {
  imageSize: 32 | 64 | 128;
  channels: 1 | 3;
  /** Latent size (the seed: 100). */
  nz: number;
  /** Generator / discriminator base widths (the seed: 64). */
  ngf: number;
  ndf: number;
}

export const DEFAULT_GAN_CONFIG: GanConfig = { imageSize: 32, channels: 1, nz: 100, ngf: 32, ndf: 32 };

/** PyTorch's BatchNorm2d defaults (momentum 0.1 there == 0.9 here, eps 1e-5). */
const BN = { momentum: 0.9, epsilon: 1e-5 } as const;

/**
 * What every DCGAN convolution shares: 4x4 kernels, no bias. Weights are drawn
 * afterwards by initDcganWeights (seeded, identical on every backend), so the
 * layer's own initialiser only has to be cheap.
 */
const CONV = { kernelSize: 4, useBias: false, kernelInitializer: 'zeros' } as const;

/** Throws a readable error for a configuration the nets cannot be built from. */
export function validateGanConfig(cfg: GanConfig): void {
  const problems: string[] = [];
  if (![32, 64, 128].includes(cfg.imageSize)) problems.push(`imageSize must be 32, 64 or 128 (got ${cfg.imageSize})`);
  if (![1, 3].includes(cfg.channels)) problems.push(`channels must be 1 or 3 (got ${cfg.channels})`);
  for (const k of ['nz', 'ngf', 'ndf'] as const) {
    const v = cfg[k];
    if (!Number.isInteger(v) || v < 1 || v > 4096) problems.push(`${k} must be an integer in 1..4096 (got ${v})`);
  }
  if (problems.length) throw new Error(`Invalid GAN configuration: ${problems.join('; ')}`);
}

/** Number of stride-2 stages between 4x4 and the image: 32 -> 3, 64 -> 4, 128 -> 5. */
export function upsamplingStages(imageSize: number): number {
  return Math.round(Math.log2(imageSize / 4));
}

/**
 * Generator: input [n, nz] -> output [n, imageSize, imageSize, channels] in [-1, 1].
 * Weights are initialised from `seed` (see initDcganWeights).
 */
export function buildGenerator(cfg: GanConfig, seed = 1): tf.LayersModel {
  validateGanConfig(cfg);
  const stages = upsamplingStages(cfg.imageSize);
  const model = tf.sequential({ name: 'generator' });
  model.add(tf.layers.reshape({ targetShape: [1, 1, cfg.nz], inputShape: [cfg.nz], name: 'g_reshape' }));
  let mult = 2 ** (stages - 1);
  model.add(
    tf.layers.conv2dTranspose({
      filters: cfg.ngf * mult,
      ...CONV,
      strides: 1,
      padding: 'valid',
      name: 'g_tconv0',
    }),
  );
  model.add(tf.layers.batchNormalization({ ...BN, name: 'g_bn0' }));
  model.add(tf.layers.reLU({ name: 'g_relu0' }));
  for (let i = 1; i < stages; i++) {
    mult /= 2;
    model.add(
      tf.layers.conv2dTranspose({
        filters: cfg.ngf * mult,
        ...CONV,
        strides: 2,
        padding: 'same',
        name: `g_tconv${i}`,
      }),
    );
    model.add(tf.layers.batchNormalization({ ...BN, name: `g_bn${i}` }));
    model.add(tf.layers.reLU({ name: `g_relu${i}` }));
  }
  model.add(
    tf.layers.conv2dTranspose({
      filters: cfg.channels,
      ...CONV,
      strides: 2,
      padding: 'same',
      name: `g_tconv${stages}`,
    }),
  );
  model.add(tf.layers.activation({ activation: 'tanh', name: 'g_tanh' }));
  initDcganWeights(model, seed);
  return model;
}

/**
 * Discriminator: input [n, imageSize, imageSize, channels] (values in [-1, 1])
 * -> output [n, 1] logits. Weights are initialised from `seed`.
 */
export function buildDiscriminator(cfg: GanConfig, seed = 2): tf.LayersModel {
  validateGanConfig(cfg);
  const stages = upsamplingStages(cfg.imageSize);
  const model = tf.sequential({ name: 'discriminator' });
  model.add(
    tf.layers.conv2d({
      filters: cfg.ndf,
      ...CONV,
      strides: 2,
      padding: 'same',
      inputShape: [cfg.imageSize, cfg.imageSize, cfg.channels],
      name: 'd_conv0',
    }),
  );
  model.add(tf.layers.leakyReLU({ alpha: 0.2, name: 'd_lrelu0' }));
  let mult = 1;
  for (let i = 1; i < stages; i++) {
    mult *= 2;
    model.add(
      tf.layers.conv2d({
        filters: cfg.ndf * mult,
        ...CONV,
        strides: 2,
        padding: 'same',
        name: `d_conv${i}`,
      }),
    );
    model.add(tf.layers.batchNormalization({ ...BN, name: `d_bn${i}` }));
    model.add(tf.layers.leakyReLU({ alpha: 0.2, name: `d_lrelu${i}` }));
  }
  model.add(
    tf.layers.conv2d({
      filters: 1,
      ...CONV,
      strides: 1,
      padding: 'valid',
      name: `d_conv${stages}`,
    }),
  );
  model.add(tf.layers.flatten({ name: 'd_flatten' }));
  initDcganWeights(model, seed);
  return model;
}

/**
 * DCGAN initialisation from a seeded PRNG: conv kernels N(0, 0.02), BN gamma
 * N(1, 0.02), beta 0, moving mean 0, moving variance 1. Weights are visited
 * in model order, so the same seed gives the same network on every backend.
 */
export function initDcganWeights(model: tf.LayersModel, seed: number): void {
  const rng = new Rng(seed);
  const values = model.weights.map((w) => {
    const size = (w.shape as number[]).reduce((a, b) => a * b, 1);
    const name = w.originalName;
    let data: Float32Array;
    if (/kernel$/.test(name)) data = rng.normalArray(size, 0, 0.02);
    else if (/gamma$/.test(name)) data = rng.normalArray(size, 1, 0.02);
    else if (/moving_variance$/.test(name)) data = new Float32Array(size).fill(1);
    else data = new Float32Array(size); // beta, moving_mean
    return tf.tensor(data, w.shape as number[]);
  });
  model.setWeights(values);
  tf.dispose(values);
}

/** Total parameter count (trainable + BN statistics) of a model. */
export function countParams(model: tf.LayersModel): number {
  return model.weights.reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
}
