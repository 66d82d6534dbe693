/**
 * One DCGAN training step with the seed's techniques, each switchable:
 * - BCE on logits; one-sided label smoothing (real target `realLabel`, 0.9),
 *   also used as the generator's target like the seed did;
 * - non-saturating generator loss (or the original minimax loss);
 * - Adam lr 2e-4, betas (0.5, 0.999), eps 1e-8 (PyTorch's defaults);
 * - weight decay 1e-4. Default mode 'l2' = PyTorch `Adam(weight_decay=...)`,
 *   the seed's recipe: wd * param is added to the gradient before the Adam
 *   moments (cheap, no extra loss term; note Adam rescales it). 'decoupled'
 *   = AdamW: param -= lr * wd * param after the Adam step.
 * - freezing: skip D's update while runningMean(loss_D) < ratio *
 *   runningMean(loss_G) (running means over the current epoch, as in the seed),
 *   counted.
 *
 * The options and their defaults are src/gan/recipe.ts; Adam (restorable bit
 * for bit) is src/gan/adam.ts.
 *
 * Beyond the seed (off in its recipe, see RECIPES): DiffAugment on every
 * image D sees (src/gan/augment.ts). The generator's weight average and
 * horizontal flips of the real images live in the training loop (training-loop.ts),
 * which owns the data and the checkpoints.
 *
 * Every step runs inside tf.tidy; the only tensors that outlive a step are the
 * model weights and the optimiser moments.
 */
import { tf } from '../tf/index.ts';
import { augmentSeed, diffAugment } from './augment.ts';
import { Adam } from './adam.ts';
import type { TrainOptions } from './recipe.ts';

/** Running means used by freezing (reset at every epoch start). */
export interface RunningMeans {
  lossDSum: number;
  lossGSum: number;
  count: number;
}

/** The figures of one step. */
export interface StepResult {
  lossD: number;
  lossG: number;
  /** Mean D(x) and D(G(z)) as probabilities (D(G(z)) before D's update). */
  dReal: number;
  dFake: number;
  /** True when freezing skipped D's update this step. */
  frozen: boolean;
}

/** Trainable variables of a layers model, in a stable order. */
export function trainableVars(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** Binary cross-entropy on logits against a constant target, mean over the batch. */
export function bceWithLogits(logits: tf.Tensor, target: number): tf.Scalar {
  return tf.tidy(() => {
    // max(x,0) - x*t + log(1 + exp(-|x|)): stable for any logit.
    const x = logits;
    return tf.mean(tf.add(tf.sub(tf.relu(x), tf.mul(x, target)), tf.softplus(tf.neg(tf.abs(x))))) as tf.Scalar;
  });
}

/** Models, optimisers and freezing statistics of one training run. */
export class GanTrainState {
  readonly optG: Adam;
  readonly optD: Adam;
  running: RunningMeans = { lossDSum: 0, lossGSum: 0, count: 0 };
  /** Steps done / steps whose D update was frozen, over the model's whole life. */
  step = 0;
  freezeCount = 0;
  /** 0 on the training loop's thread, 1 on a data-parallel worker: its augmentations draw other random numbers. */
  replica = 0;
  /** The generator's weight average (src/gan/ema.ts) when opts.ema; the training loop updates it. */
  ema: tf.LayersModel | undefined;

  constructor(
    readonly generator: tf.LayersModel,
    readonly discriminator: tf.LayersModel,
    readonly opts: TrainOptions,
  ) {
    this.optG = new Adam(trainableVars(generator), opts);
    this.optD = new Adam(trainableVars(discriminator), opts);
  }

  resetRunningMeans(): void {
    this.running = { lossDSum: 0, lossGSum: 0, count: 0 };
  }

  /** Whether freezing would skip D's update on the next step. */
  shouldFreeze(): boolean {
    const r = this.running;
    if (!this.opts.freezing || r.count === 0) return false;
    return r.lossDSum / r.count < this.opts.freezeRatio * (r.lossGSum / r.count);
  }

  dispose(): void {
    this.optG.dispose();
    this.optD.dispose();
    this.ema?.dispose();
    this.ema = undefined;
  }
}

/**
 * One training step. `real`: [B, H, W, C] in [-1, 1]; `z`: [B, nz] latent
 * noise. Neither is disposed. Updates D (unless frozen), then G, the
 * optimiser states, BN statistics and the running means.
 */
export function trainStep(state: GanTrainState, real: tf.Tensor4D, z: tf.Tensor2D): StepResult {
  const { generator: G, discriminator: D, opts } = state;
  const realTarget = opts.labelSmoothing ? opts.realLabel : 1;
  const gTarget = opts.generatorTarget === 'one' ? 1 : realTarget;
  const frozen = state.shouldFreeze();
  // Phases 0/1/2: D's real batch, D's fake batch, G's fake batch each get their own draws.
  const aug = (x: tf.Tensor4D, phase: number): tf.Tensor4D =>
    opts.augment.length
      ? diffAugment(x, opts.augment, augmentSeed(opts.augmentSeed, state.step, state.replica, phase))
      : x;

  let probes: tf.Tensor | undefined;
  const figures = tf.tidy(() => {
    // --- D phase: fake images are constants here (PyTorch's fake.detach()).
    const fake = G.apply(z, { training: true }) as tf.Tensor4D;
    const lossDFn = (): tf.Scalar => {
      const realLogits = D.apply(aug(real, 0), { training: true }) as tf.Tensor;
      const fakeLogits = D.apply(aug(fake, 1), { training: true }) as tf.Tensor;
      // Kept past the gradient scope; disposed below once read.
      probes = tf.keep(tf.stack([tf.mean(tf.sigmoid(realLogits)), tf.mean(tf.sigmoid(fakeLogits))]));
      return tf.add(bceWithLogits(realLogits, realTarget), bceWithLogits(fakeLogits, 0)) as tf.Scalar;
    };
    let lossD: tf.Scalar;
    if (frozen) {
      lossD = lossDFn();
    } else {
      const { value, grads } = tf.variableGrads(lossDFn, state.optD.vars);
      state.optD.apply(state.optD.vars.map((v) => grads[v.name]));
      lossD = value;
    }
    // --- G phase: gradient through the (just updated) D into G.
    const { value: lossG, grads } = tf.variableGrads(() => {
      const logits = D.apply(aug(G.apply(z, { training: true }) as tf.Tensor4D, 2), { training: true }) as tf.Tensor;
      return opts.nonSaturating ? bceWithLogits(logits, gTarget) : (tf.neg(bceWithLogits(logits, 0)) as tf.Scalar);
    }, state.optG.vars);
    state.optG.apply(state.optG.vars.map((v) => grads[v.name]));
    return tf.stack([lossD, lossG]);
  });
  const [lossD, lossG] = figures.dataSync();
  const [dReal, dFake] = probes!.dataSync();
  tf.dispose([figures, probes!]);
  if (!Number.isFinite(lossD) || !Number.isFinite(lossG)) {
    throw new Error(`training diverged at step ${state.step + 1}: loss_D=${lossD}, loss_G=${lossG}`);
  }
  state.step += 1;
  if (frozen) state.freezeCount += 1;
  state.running.lossDSum += lossD;
  state.running.lossGSum += lossG;
  state.running.count += 1;
  return { lossD, lossG, dReal, dFake, frozen };
}
