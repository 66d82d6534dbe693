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
 * Adam is implemented here rather than with tf.train.adam so that its whole
 * state (step t, m, v) is explicit and restorable bit for bit: tfjs's Adam
 * keeps float32 accumulators of beta^t whose loss on resume makes runs drift.
 * Bias corrections are computed in float64 from t.
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
import { augmentSeed, diffAugment, type AugmentOp } from './augment.ts';

export type WeightDecayMode = 'l2' | 'decoupled';

export interface TrainOptions {
  batchSize: number;
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 0 disables weight decay. */
  weightDecay: number;
  weightDecayMode: WeightDecayMode;
  /** One-sided label smoothing on/off; when off the real target is 1. */
  labelSmoothing: boolean;
  /** Real target with label smoothing on (the seed: 0.9). */
  realLabel: number;
  /** Generator's target: 'real-label' (the seed: same as D's real target) or 'one'. */
  generatorTarget: 'real-label' | 'one';
  /** Non-saturating G loss (-log D(G(z))) vs minimax (log(1 - D(G(z)))). */
  nonSaturating: boolean;
  /** Freezing on/off and its ratio (the seed: 0.7). */
  freezing: boolean;
  freezeRatio: number;
  /** DiffAugment policy applied to every image D sees (empty = none, the seed). */
  augment: AugmentOp[];
  /** Base of the augmentation seeds (a run's seed; see augmentSeed). */
  augmentSeed: number;
  /** Serve and evaluate an exponential moving average of G's weights (Yazici et al. 2019). */
  ema: boolean;
  /** The average's half-life in training images (StyleGAN2's ema_kimg = 10). */
  emaHalfLifeImages: number;
  /** Early on the half-life is at most this share of the images seen (StyleGAN2-ADA's ema_rampup). */
  emaRampup: number;
  /** Flip each real image horizontally with probability 1/2. */
  flip: boolean;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  batchSize: 64,
  lr: 2e-4,
  beta1: 0.5,
  beta2: 0.999,
  epsilon: 1e-8,
  weightDecay: 1e-4,
  weightDecayMode: 'l2',
  labelSmoothing: true,
  realLabel: 0.9,
  generatorTarget: 'real-label',
  nonSaturating: true,
  freezing: true,
  freezeRatio: 0.7,
  augment: [],
  augmentSeed: 0,
  ema: false,
  emaHalfLifeImages: 10_000,
  emaRampup: 0.05,
  flip: false,
};

/** The named recipes (`--recipe`): the seed's exactly, and shoebot's measured improvement on it. */
export const RECIPES = {
  seed: {},
  shoebot: { augment: ['color', 'translation', 'cutout'], ema: true },
} satisfies Record<string, Partial<TrainOptions>>;
export type RecipeName = keyof typeof RECIPES;
/**
 * The recipe `npm run train` gives a new model: shoebot's beat the seed's on 64x64 colour photos
 * (FID 79 vs 104 at 1,500 steps, README "Training recipe"). Library callers get DEFAULT_TRAIN_OPTIONS (the seed's).
 */
export const DEFAULT_RECIPE: RecipeName = 'shoebot';

/** The parts beyond the seed's recipe, for logs and status: e.g. "DiffAugment color,translation,cutout, weight average". */
export function describeExtras(t: TrainOptions): string {
  const parts: string[] = [];
  if (t.augment?.length) parts.push(`DiffAugment ${t.augment.join(',')}`);
  if (t.ema) parts.push(`weight average (half-life ${t.emaHalfLifeImages} images)`);
  if (t.flip) parts.push('horizontal flips');
  return parts.join(', ') || 'none';
}

/** Options of a recipe: the seed's defaults with the recipe's changes. */
export function recipeOptions(name: RecipeName): TrainOptions {
  return { ...DEFAULT_TRAIN_OPTIONS, ...(RECIPES[name] as Partial<TrainOptions>) };
}

/** Serialisable Adam state (moments in the order of the variables). */
export interface AdamSnapshot {
  t: number;
  m: Float32Array[];
  v: Float32Array[];
}

/** Adam over a fixed list of variables, PyTorch's update formula. */
export class Adam {
  t = 0;
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];

  constructor(
    readonly vars: tf.Variable[],
    private readonly opts: Pick<TrainOptions, 'lr' | 'beta1' | 'beta2' | 'epsilon' | 'weightDecay' | 'weightDecayMode'>,
  ) {
    // tidy: the zeros tensors would otherwise outlive the variables made from them.
    this.m = vars.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    this.v = vars.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
  }

  /** Applies one update. `grads[i]` ([same shape as vars[i]]) is not disposed here. */
  apply(grads: tf.Tensor[]): void {
    const { lr, beta1, beta2, epsilon, weightDecay, weightDecayMode } = this.opts;
    this.t += 1;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    tf.tidy(() => {
      const b1 = tf.scalar(beta1);
      const b2 = tf.scalar(beta2);
      const ob1 = tf.scalar(1 - beta1);
      const ob2 = tf.scalar(1 - beta2);
      const invSqrtBc2 = tf.scalar(1 / Math.sqrt(bc2));
      const eps = tf.scalar(epsilon);
      const stepSize = tf.scalar(lr / bc1);
      const wd = tf.scalar(weightDecay);
      const decoupled = tf.scalar(lr * weightDecay);
      this.vars.forEach((p, i) => {
        let g = grads[i];
        if (weightDecay > 0 && weightDecayMode === 'l2') g = tf.add(g, tf.mul(p, wd));
        const m = tf.add(tf.mul(this.m[i], b1), tf.mul(g, ob1));
        const v = tf.add(tf.mul(this.v[i], b2), tf.mul(tf.square(g), ob2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        const denom = tf.add(tf.mul(tf.sqrt(v), invSqrtBc2), eps);
        let next = tf.sub(p, tf.mul(tf.div(m, denom), stepSize));
        if (weightDecay > 0 && weightDecayMode === 'decoupled') next = tf.sub(next, tf.mul(p, decoupled));
        p.assign(next);
      });
    });
  }

  snapshot(): AdamSnapshot {
    return {
      t: this.t,
      m: this.m.map((x) => x.dataSync() as Float32Array),
      v: this.v.map((x) => x.dataSync() as Float32Array),
    };
  }

  restore(s: AdamSnapshot): void {
    if (s.m.length !== this.m.length || s.v.length !== this.v.length) {
      throw new Error(`optimizer state has ${s.m.length} moment tensors, the model needs ${this.m.length}`);
    }
    this.t = s.t;
    tf.tidy(() => {
      this.m.forEach((x, i) => {
        if (s.m[i].length !== x.size) throw new Error(`optimizer moment ${i} has ${s.m[i].length} values, expected ${x.size}`);
        x.assign(tf.tensor(s.m[i], x.shape));
      });
      this.v.forEach((x, i) => {
        if (s.v[i].length !== x.size) throw new Error(`optimizer moment ${i} has ${s.v[i].length} values, expected ${x.size}`);
        x.assign(tf.tensor(s.v[i], x.shape));
      });
    });
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}

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
  /** 0 on the trainer's thread, 1 on a data-parallel worker: its augmentations draw other random numbers. */
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
    opts.augment.length ? diffAugment(x, opts.augment, augmentSeed(opts.augmentSeed, state.step, state.replica, phase)) : x;

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
