/**
 * The training recipe: every option of a training step and of the training
 * loop (TrainOptions), their defaults (the seed's recipe: DCGAN with one-sided
 * label smoothing, Adam 2e-4 / (0.5, 0.999), weight decay 1e-4, freezing of
 * D) and the named recipes `--recipe` chooses from. What each option does is
 * in src/gan/train-step.ts (the step) and src/gan/training-loop.ts (flips,
 * weight average, data order).
 */
import type { AugmentOp } from './augment.ts';

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
