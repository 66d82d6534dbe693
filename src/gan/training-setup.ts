/**
 * Setting up a training run (src/gan/training-loop.ts): the models directory
 * checked before any work, then models, optimisers, weight average and RNGs,
 * either restored from a checkpoint (exact resume, or reseeded for the bot's
 * runs) or built from a seed; and the checks that the dataset fits the model.
 */
import type { Logger } from 'pino';
import type { Dataset } from '../data/dataset.ts';
import { buildDiscriminator, buildGenerator, DEFAULT_GAN_CONFIG, validateGanConfig, type GanConfig } from './model.ts';
import { Rng } from './latent.ts';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from './recipe.ts';
import { GanTrainState } from './train-step.ts';
import { copyWeights } from './ema.ts';
import type { HistoryPoint } from './checkpoint.ts';
import { loadTrainingCheckpoint, type LoadedTraining } from './checkpoint-load.ts';
import { readManifest } from './manifest.ts';
import { modelsDirProblem, removeStaleTempFolders } from './models-dir.ts';
import type { OrderStart } from './training-batches.ts';
import type { TrainRunOptions } from './training-options.ts';

/** A run's models, optimisers and RNGs, and what its checkpoints carry on from the model's past. */
export interface TrainingRun {
  cfg: GanConfig;
  /** The same object as state.opts. */
  trainOpts: TrainOptions;
  state: GanTrainState;
  noiseRng: Rng;
  order: OrderStart;
  /** Seed the model (init, RNGs) started from. */
  seed: number;
  /** Seed the RNGs were redrawn from for this run (opts.reseed on resume). */
  runSeed?: number;
  /** Seconds of training before this run. */
  trainSeconds: number;
  history: HistoryPoint[];
  /** The version the next checkpoint continues (the resumed one, then each one written). */
  parent?: string;
  /** Set when resuming on other pixels than the checkpoint's. */
  datasetChanged?: { was: string; now: string };
}

/**
 * Refuses a models directory a checkpoint could not be written to (before any
 * work: a run that cannot save must not train for hours first) and removes
 * temporary folders a killed writer left behind.
 */
export function prepareModelsDir(modelsDir: string, logger?: Logger): void {
  const unwritable = modelsDirProblem(modelsDir);
  if (unwritable) throw new Error(unwritable);
  const swept = removeStaleTempFolders(modelsDir);
  if (swept.length)
    logger?.info({ removed: swept, modelsDir }, 'removed temporary checkpoint folders a killed writer left behind');
}

/**
 * The run `opts` asks for on `data`: continued from a checkpoint (opts.resume)
 * or from scratch, with the weight average started when it is on but absent.
 * The caller disposes state, state.generator and state.discriminator.
 */
export async function startRun(opts: TrainRunOptions, data: Dataset): Promise<TrainingRun> {
  const resumeVersion =
    opts.resume === true ? ((await readManifest(opts.modelsDir)).active ?? undefined) : opts.resume || undefined;
  if (opts.resume === true && !resumeVersion) {
    throw new Error(
      `--resume: no active checkpoint in ${opts.modelsDir}/manifest.json (train from scratch without --resume)`,
    );
  }
  const run = resumeVersion ? await fromCheckpoint(opts, data, resumeVersion) : fromScratch(opts, data);
  const { state } = run;
  if (state.opts.ema && !state.ema) {
    // From scratch, or switched on for a checkpoint without one: the average starts at the current weights.
    state.ema = buildGenerator(run.cfg, 1);
    copyWeights(state.generator, state.ema);
  }
  return run;
}

/** A run continuing checkpoint `version`: its models, optimiser states, counters and RNGs. */
async function fromCheckpoint(opts: TrainRunOptions, data: Dataset, version: string): Promise<TrainingRun> {
  const ck = await loadTrainingCheckpoint(opts.modelsDir, version);
  const t = ck.meta.trainer;
  const cfg = ck.meta.config;
  refuseArchitectureChange(opts, ck, version);
  const trainOpts = { ...DEFAULT_TRAIN_OPTIONS, ...t.trainOptions, ...opts.trainOptions };
  const state = restoredState(ck, trainOpts, version);
  const run: TrainingRun = {
    cfg,
    trainOpts,
    state,
    noiseRng: Rng.fromState(t.noiseRng),
    order: {
      rng: Rng.fromState(t.epochRng),
      start: t.epochRng,
      epoch: t.epoch,
      batchInEpoch: t.batchInEpoch,
      fresh: false,
    },
    seed: t.seed,
    trainSeconds: t.trainSeconds,
    history: t.history ?? [],
    parent: version,
  };
  if (t.datasetFingerprint !== data.meta.fingerprint) {
    // Different pixels: the stored permutation means nothing; start a fresh epoch.
    run.datasetChanged = { was: t.datasetFingerprint, now: data.meta.fingerprint };
    run.order.start = run.order.rng.getState();
    run.order.batchInEpoch = Number.MAX_SAFE_INTEGER;
  }
  if (opts.reseed !== undefined) reseed(run, opts.reseed);
  return run;
}

/** Throws (disposing the loaded models) when `opts.config` asks for another architecture than the checkpoint's. */
function refuseArchitectureChange(opts: TrainRunOptions, ck: LoadedTraining, version: string): void {
  const cfg = ck.meta.config;
  const clash = Object.entries(opts.config ?? {}).filter(
    ([k, v]) => v !== undefined && cfg[k as keyof GanConfig] !== v,
  );
  if (!clash.length) return;
  ck.generator.dispose();
  ck.ema?.dispose();
  ck.discriminator.dispose();
  throw new Error(
    `checkpoint ${version} is ${clash.map(([k]) => `${k}=${cfg[k as keyof GanConfig]}`).join(', ')}, ` +
      `not ${clash.map(([k, v]) => `${k}=${v}`).join(', ')}: a resumed run keeps its architecture (drop those flags, or train from scratch without --resume)`,
  );
}

/** The checkpoint's models and Adam states as a training state, at its step, freeze count and running means. */
function restoredState(ck: LoadedTraining, trainOpts: TrainOptions, version: string): GanTrainState {
  const t = ck.meta.trainer;
  const state = new GanTrainState(ck.generator, ck.discriminator, trainOpts);
  // The average continues if the checkpoint has one; switched off, it is dropped (the raw generator is served).
  if (trainOpts.ema) state.ema = ck.ema;
  else ck.ema?.dispose();
  try {
    state.optG.restore(ck.optG);
    state.optD.restore(ck.optD);
  } catch (err) {
    state.dispose();
    ck.generator.dispose();
    ck.discriminator.dispose();
    throw new Error(`checkpoint ${version}: ${(err as Error).message}`);
  }
  state.step = t.step;
  state.freezeCount = t.freezeCount;
  state.running = { ...t.running };
  return state;
}

/** Fresh randomness for this run: new noise, a new permutation from a fresh epoch start. */
function reseed(run: TrainingRun, runSeed: number): void {
  run.runSeed = runSeed;
  run.trainOpts.augmentSeed = run.runSeed;
  const master = new Rng(run.runSeed);
  run.noiseRng = new Rng(master.nextU32());
  run.order.rng = new Rng(master.nextU32());
  run.order.batchInEpoch = 0;
  run.order.fresh = true;
}

function fromScratch(opts: TrainRunOptions, data: Dataset): TrainingRun {
  // Image size and channels follow the dataset unless asked for (a 64x64 RGB import trains a 64x64 RGB model).
  const shape =
    [32, 64, 128].includes(data.meta.height) &&
    data.meta.height === data.meta.width &&
    [1, 3].includes(data.meta.channels)
      ? { imageSize: data.meta.height as GanConfig['imageSize'], channels: data.meta.channels as GanConfig['channels'] }
      : {};
  const given = Object.fromEntries(Object.entries(opts.config ?? {}).filter(([, v]) => v !== undefined));
  const cfg = { ...DEFAULT_GAN_CONFIG, ...shape, ...given } as GanConfig;
  validateGanConfig(cfg);
  const seed = opts.seed ?? 1;
  const trainOpts = { ...DEFAULT_TRAIN_OPTIONS, augmentSeed: seed, ...opts.trainOptions };
  const master = new Rng(seed);
  const gSeed = master.nextU32();
  const dSeed = master.nextU32();
  const noiseRng = new Rng(master.nextU32());
  const epochRng = new Rng(master.nextU32());
  const order = { rng: epochRng, start: epochRng.getState(), epoch: 0, batchInEpoch: 0, fresh: true };
  const state = new GanTrainState(buildGenerator(cfg, gSeed), buildDiscriminator(cfg, dSeed), trainOpts);
  return { cfg, trainOpts, state, noiseRng, order, seed, trainSeconds: 0, history: [] };
}

/**
 * Refuses a dataset whose images do not fit the model or that holds less than
 * one batch; warns (opts.onWarning, else the logger) when a resumed run
 * trains on other pixels than its checkpoint did.
 */
export function checkRunData(
  run: TrainingRun,
  data: Dataset,
  opts: Pick<TrainRunOptions, 'onWarning' | 'logger'>,
): void {
  const { meta } = data;
  const { cfg } = run;
  if (meta.height !== cfg.imageSize || meta.width !== cfg.imageSize || meta.channels !== cfg.channels) {
    throw new Error(
      `dataset ${meta.name} has ${meta.width}x${meta.height}x${meta.channels} images but the model is ` +
        `${cfg.imageSize}x${cfg.imageSize}x${cfg.channels}; re-import the data at that size or choose a matching --image-size/--channels`,
    );
  }
  // Warn only once the dataset is known to fit (otherwise the error above says it all).
  if (run.datasetChanged) {
    const msg = `dataset ${meta.name} differs from the one checkpoint ${run.parent} was trained on; starting a new epoch`;
    if (opts.onWarning) opts.onWarning(msg);
    else opts.logger?.warn(run.datasetChanged, msg);
  }
  const B = run.trainOpts.batchSize;
  const N = meta.trainCount;
  if (!Number.isInteger(B) || B < 2) throw new Error(`batch size must be an integer >= 2, got ${B}`);
  if (N < B) throw new Error(`dataset ${meta.name} has ${N} training images, fewer than one batch of ${B}`);
}
