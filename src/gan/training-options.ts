/**
 * What a caller passes to runTraining (src/gan/training-loop.ts) and what it
 * gets back: the run's length and limits, where it starts from (a checkpoint
 * or a seed), and the callbacks through which `npm run train` and the trainer
 * child process render progress and are told about checkpoints.
 */
import type { Logger } from 'pino';
import type { tf } from '../tf/index.ts';
import type { Dataset } from '../data/dataset.ts';
import type { GanConfig } from './model.ts';
import type { TrainOptions } from './recipe.ts';
import type { GanTrainState, StepResult } from './train-step.ts';
import type { CheckpointMetrics } from './quality.ts';
import type { TrainProgress } from './protocol.ts';

export interface TrainRunOptions {
  modelsDir: string;
  /** A packed dataset directory (src/data/dataset.ts), or an already loaded one. */
  dataset: string | Dataset;
  /** Steps to run now. */
  steps: number;
  /** Continue from a checkpoint: true = the active one, a string = that version. */
  resume?: boolean | string;
  /** Architecture when starting from scratch (ignored on resume, where the checkpoint's applies). */
  config?: Partial<GanConfig>;
  /** Overrides of the training options (on resume: of the checkpoint's options). */
  trainOptions?: Partial<TrainOptions>;
  /** Seed for initialisation, latent noise and data order (from scratch). */
  seed?: number;
  /**
   * On resume: redraw the latent-noise and data-order RNGs from this seed and
   * start a fresh epoch, so that runs continuing the same checkpoint differ
   * (the bot's scheduled runs). Unset = exact resume (the CLI's --resume).
   * Recorded as `runSeed` in the checkpoint's trainer state.
   */
  reseed?: number;
  /** Steps per logging window (default 25). */
  logEvery?: number;
  /** Also write a checkpoint every N steps (0 = only at the end). */
  checkpointEvery?: number;
  /** Stop (with a checkpoint) after this many seconds of training. */
  maxSeconds?: number;
  /** Make the final checkpoint the active one (default true). */
  activate?: boolean;
  /** Compute quality metrics for the final checkpoint (default false). */
  evaluate?: boolean | ((generator: tf.LayersModel, cfg: GanConfig, data: Dataset) => Promise<CheckpointMetrics>);
  /**
   * Replaces the single-thread trainStep (e.g. a data-parallel step over
   * worker threads). Must update `state` exactly as trainStep does.
   */
  stepFn?: (state: GanTrainState, real: tf.Tensor4D, z: tf.Tensor2D) => StepResult | Promise<StepResult>;
  /** Awaited before every checkpoint is written (e.g. to average a data-parallel replica's BN statistics). */
  beforeCheckpoint?: (state: GanTrainState) => Promise<void>;
  /** Polled between steps; true = stop at this step boundary and checkpoint. */
  shouldStop?: () => boolean;
  onStarted?: (info: {
    runStartStep: number;
    targetStep: number;
    backend: string;
    config: GanConfig;
    trainOptions: TrainOptions;
    resumedFrom?: string;
    /** Seed the RNGs were redrawn from for this run (opts.reseed on resume). */
    runSeed?: number;
  }) => void;
  onProgress?: (p: TrainProgress) => void;
  /** Called after every step (cheap): for progress bars. */
  onStep?: (info: {
    step: number;
    runStepsDone: number;
    runStepsTotal: number;
    lossD: number;
    lossG: number;
    elapsed: number;
    /** Seconds left (the step count or the time limit, whichever ends the run first). */
    etaSeconds: number;
    /** Share of the run done (0..1), by steps or by time. */
    fraction: number;
  }) => void;
  onCheckpoint?: (c: {
    version: string;
    dir: string;
    step: number;
    metrics: CheckpointMetrics;
    active: boolean;
  }) => void;
  /** Receives warnings as one plain line (the CLI prints them); default: logger.warn. */
  onWarning?: (message: string) => void;
  logger?: Logger;
}

export interface TrainRunResult {
  /** The checkpoint written; absent when the run was stopped before its first step (nothing to publish). */
  version?: string;
  dir?: string;
  step: number;
  steps: number;
  stopped: boolean;
  freezeCount: number;
  seconds: number;
  imagesPerSecond: number;
  lossD: number;
  lossG: number;
  metrics: CheckpointMetrics;
}
