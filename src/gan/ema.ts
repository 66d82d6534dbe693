/**
 * An exponential moving average of the generator's weights (Yazici et al.
 * 2019, "The Unusual Effectiveness of Averaging in GAN Training"): the
 * average of the last few thousand images' worth of updates draws smoother,
 * less noisy samples than the raw generator at any one step, at the cost of
 * one multiply-add per weight per step. The bot serves it and the metric
 * evaluates it; training continues on the raw generator.
 *
 * Decay per step: beta = 0.5 ^ (batch / halfLife), with the half-life at most
 * `rampup` x the images seen so far (StyleGAN2-ADA), so early averages don't
 * drag in the random initialisation. Batch-norm statistics are not averaged:
 * before a checkpoint they are recomputed for the average's own weights
 * (batch-norm-stats.ts); the raw generator's do not fit it.
 */
import { tf } from '../tf/index.ts';

/** The decay for the step that has just seen `imagesSeen` images in total. */
export function emaBeta(batchSize: number, imagesSeen: number, halfLifeImages: number, rampup: number): number {
  const half = Math.min(halfLifeImages, rampup > 0 ? imagesSeen * rampup : halfLifeImages);
  return half > 0 ? 0.5 ** (batchSize / half) : 0;
}

/** Makes `to` (a model with the generator's topology) a copy of `from`: the start of an average. */
export function copyWeights(from: tf.LayersModel, to: tf.LayersModel): void {
  const src = from.weights;
  const dst = to.weights;
  if (src.length !== dst.length) throw new Error(`weight average: ${src.length} weights vs ${dst.length}`);
  tf.tidy(() => dst.forEach((w, i) => w.write(src[i].read().clone())));
}

/** ema <- beta * ema + (1 - beta) * generator, trainable weights only. No tensor leaks. */
export function updateEma(ema: tf.LayersModel, generator: tf.LayersModel, beta: number): void {
  const src = generator.trainableWeights;
  const dst = ema.trainableWeights;
  tf.tidy(() => {
    const b = tf.scalar(beta);
    const ob = tf.scalar(1 - beta);
    dst.forEach((w, i) => w.write(tf.add(tf.mul(w.read(), b), tf.mul(src[i].read(), ob))));
  });
}
