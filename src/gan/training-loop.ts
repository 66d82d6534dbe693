/**
 * The training loop: dataset -> [-1, 1] batches in a seeded order -> trainStep
 * -> per-window figures -> a checkpoint at the end (and optionally every N
 * steps). Used by `npm run train` and by the trainer child process the bot
 * forks; both render progress through the `onProgress` callback.
 *
 * Exact resume: a checkpoint holds the weights, both Adam states, BN
 * statistics, both RNG states (latent noise; data order as it was at the start
 * of the current epoch, so the epoch's permutation is redrawn identically) and
 * the position inside the epoch. N steps + resume + M steps == N+M steps.
 *
 * The loop yields to the event loop after every step so a stop request
 * (Ctrl-C, IPC message) is seen at the next step boundary; then a consistent
 * checkpoint is written.
 */
import type { Logger } from 'pino';
import { tf, backendInfo } from '../tf/index.ts';
import { loadDataset, type Dataset } from '../data/dataset.ts';
import { buildDiscriminator, buildGenerator, DEFAULT_GAN_CONFIG, validateGanConfig, type GanConfig } from './model.ts';
import { Rng, type RngState } from './latent.ts';
import { DEFAULT_TRAIN_OPTIONS, GanTrainState, trainStep, type StepResult, type TrainOptions } from './train-step.ts';
import {
  loadTrainingCheckpoint,
  newestValidCheckpoint,
  readManifest,
  verifyCheckpoint,
  saveCheckpoint,
  setActiveCheckpoint,
  type CheckpointMetrics,
  type HistoryPoint,
} from './checkpoint.ts';
import type { TrainProgress } from './protocol.ts';
import { copyWeights, emaBeta, updateEma } from './ema.ts';
import { modelsDirProblem, removeStaleTempFolders } from './models-dir.ts';

/** Most history points kept in a checkpoint (for loss plots). */
const HISTORY_LIMIT = 2000;

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
  onCheckpoint?: (c: { version: string; dir: string; step: number; metrics: CheckpointMetrics; active: boolean }) => void;
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

/**
 * Copies `indices` images of `data` (uint8 NHWC, `w` pixels of `c` channels
 * per row) into one [-1, 1] float batch; images whose `flip` entry is set are
 * mirrored left-right. Only the batch is ever float32, never the dataset.
 */
function gatherBatch(data: Uint8Array, per: number, indices: ArrayLike<number>, w: number, c: number, flip?: boolean[]): Float32Array {
  const out = new Float32Array(indices.length * per);
  const row = w * c;
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b] * per;
    const dst = b * per;
    if (flip?.[b]) {
      for (let y = 0; y < per; y += row) {
        for (let x = 0; x < w; x++) {
          for (let k = 0; k < c; k++) out[dst + y + x * c + k] = data[src + y + (w - 1 - x) * c + k] / 127.5 - 1;
        }
      }
    } else {
      for (let i = 0; i < per; i++) out[dst + i] = data[src + i] / 127.5 - 1;
    }
  }
  return out;
}

/** Which images of the batch at `step` are flipped: a pure function of (seed, step), so resume repeats it. */
function flipsFor(seed: number, step: number, n: number): boolean[] {
  const rng = new Rng(seed * 7919 + step * 2 + 1);
  return Array.from({ length: n }, () => rng.uniform() < 0.5);
}

async function defaultEvaluate(generator: tf.LayersModel, cfg: GanConfig, data: Dataset, logger?: Logger): Promise<CheckpointMetrics> {
  try {
    const metrics = (await import('./metrics.ts')) as Record<string, unknown>;
    const fn = metrics.evaluateGenerator as
      | ((m: tf.LayersModel, c: GanConfig, heldout: Dataset, o: Record<string, unknown>) => Promise<CheckpointMetrics>)
      | undefined;
    if (typeof fn !== 'function') throw new Error('src/gan/metrics.ts has no evaluateGenerator');
    // The whole dataset (not just its pixels): metrics need the background colour in meta.
    const r = await fn(generator, cfg, data, {});
    const out: CheckpointMetrics = {};
    for (const [k, v] of Object.entries(r)) if ((typeof v === 'number' && Number.isFinite(v)) || (k === 'metric' && typeof v === 'string')) out[k] = v;
    return out;
  } catch (err) {
    logger?.warn({ err: (err as Error).message }, 'quality metrics unavailable; checkpoint saved without them');
    return {};
  }
}

/**
 * Runs (or continues) training for `opts.steps` steps and writes a checkpoint.
 * Tensors: none leak; the models live until the function returns.
 */
export async function runTraining(opts: TrainRunOptions): Promise<TrainRunResult> {
  const logger = opts.logger;
  if (!Number.isInteger(opts.steps) || opts.steps < 1) throw new Error(`steps must be a positive integer, got ${opts.steps}`);
  // Before any work: a run that cannot save its checkpoint must not train for hours first.
  const unwritable = modelsDirProblem(opts.modelsDir);
  if (unwritable) throw new Error(unwritable);
  const swept = removeStaleTempFolders(opts.modelsDir);
  if (swept.length) logger?.info({ removed: swept, modelsDir: opts.modelsDir }, 'removed temporary checkpoint folders a killed writer left behind');
  const data = typeof opts.dataset === 'string' ? await loadDataset(opts.dataset) : opts.dataset;
  const logEvery = Math.max(1, opts.logEvery ?? 25);

  // ---- models, optimisers, RNGs: from a checkpoint or from scratch
  let cfg: GanConfig;
  let trainOpts: TrainOptions;
  let state: GanTrainState;
  let noiseRng: Rng;
  let epochRng: Rng;
  let epochStart: RngState;
  let epoch = 0;
  let batchInEpoch = 0;
  let seed: number;
  let trainSeconds = 0;
  let history: HistoryPoint[] = [];
  let parent: string | undefined;
  let needNewEpoch = true;
  let runSeed: number | undefined;
  let datasetChanged: { was: string; now: string } | undefined;

  const resumeVersion =
    opts.resume === true ? ((await readManifest(opts.modelsDir)).active ?? undefined) : opts.resume || undefined;
  if (opts.resume === true && !resumeVersion) {
    throw new Error(`--resume: no active checkpoint in ${opts.modelsDir}/manifest.json (train from scratch without --resume)`);
  }
  if (resumeVersion) {
    const ck = await loadTrainingCheckpoint(opts.modelsDir, resumeVersion);
    const t = ck.meta.trainer;
    cfg = ck.meta.config;
    const clash = Object.entries(opts.config ?? {}).filter(([k, v]) => v !== undefined && cfg[k as keyof GanConfig] !== v);
    if (clash.length) {
      ck.generator.dispose();
      ck.ema?.dispose();
      ck.discriminator.dispose();
      throw new Error(
        `checkpoint ${resumeVersion} is ${clash.map(([k]) => `${k}=${cfg[k as keyof GanConfig]}`).join(', ')}, ` +
          `not ${clash.map(([k, v]) => `${k}=${v}`).join(', ')}: a resumed run keeps its architecture (drop those flags, or train from scratch without --resume)`,
      );
    }
    trainOpts = { ...DEFAULT_TRAIN_OPTIONS, ...t.trainOptions, ...opts.trainOptions };
    state = new GanTrainState(ck.generator, ck.discriminator, trainOpts);
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
      throw new Error(`checkpoint ${resumeVersion}: ${(err as Error).message}`);
    }
    state.step = t.step;
    state.freezeCount = t.freezeCount;
    state.running = { ...t.running };
    noiseRng = Rng.fromState(t.noiseRng);
    epochStart = t.epochRng;
    epochRng = Rng.fromState(t.epochRng);
    epoch = t.epoch;
    batchInEpoch = t.batchInEpoch;
    seed = t.seed;
    trainSeconds = t.trainSeconds;
    history = t.history ?? [];
    parent = resumeVersion;
    if (t.datasetFingerprint !== data.meta.fingerprint) {
      // Different pixels: the stored permutation means nothing; start a fresh epoch.
      datasetChanged = { was: t.datasetFingerprint, now: data.meta.fingerprint };
      epochStart = epochRng.getState();
      batchInEpoch = Number.MAX_SAFE_INTEGER;
    }
    needNewEpoch = false;
    if (opts.reseed !== undefined) {
      // Fresh randomness for this run: new noise, a new permutation from a fresh epoch start.
      runSeed = opts.reseed;
      trainOpts.augmentSeed = runSeed;
      const master = new Rng(runSeed);
      noiseRng = new Rng(master.nextU32());
      epochRng = new Rng(master.nextU32());
      batchInEpoch = 0;
      needNewEpoch = true;
    }
  } else {
    // Image size and channels follow the dataset unless asked for (a 64x64 RGB import trains a 64x64 RGB model).
    const shape = [32, 64, 128].includes(data.meta.height) && data.meta.height === data.meta.width && [1, 3].includes(data.meta.channels)
      ? { imageSize: data.meta.height as GanConfig['imageSize'], channels: data.meta.channels as GanConfig['channels'] }
      : {};
    const given = Object.fromEntries(Object.entries(opts.config ?? {}).filter(([, v]) => v !== undefined));
    cfg = { ...DEFAULT_GAN_CONFIG, ...shape, ...given } as GanConfig;
    validateGanConfig(cfg);
    seed = opts.seed ?? 1;
    trainOpts = { ...DEFAULT_TRAIN_OPTIONS, augmentSeed: seed, ...opts.trainOptions };
    const master = new Rng(seed);
    const gSeed = master.nextU32();
    const dSeed = master.nextU32();
    noiseRng = new Rng(master.nextU32());
    epochRng = new Rng(master.nextU32());
    epochStart = epochRng.getState();
    state = new GanTrainState(buildGenerator(cfg, gSeed), buildDiscriminator(cfg, dSeed), trainOpts);
  }
  if (state.opts.ema && !state.ema) {
    // From scratch, or switched on for a checkpoint without one: the average starts at the current weights.
    state.ema = buildGenerator(cfg, 1);
    copyWeights(state.generator, state.ema);
  }

  try {
    const { meta } = data;
    if (meta.height !== cfg.imageSize || meta.width !== cfg.imageSize || meta.channels !== cfg.channels) {
      throw new Error(
        `dataset ${meta.name} has ${meta.width}x${meta.height}x${meta.channels} images but the model is ` +
          `${cfg.imageSize}x${cfg.imageSize}x${cfg.channels}; re-import the data at that size or choose a matching --image-size/--channels`,
      );
    }
    // Warn only once the dataset is known to fit (otherwise the error above says it all).
    if (datasetChanged) {
      const msg = `dataset ${meta.name} differs from the one checkpoint ${parent} was trained on; starting a new epoch`;
      if (opts.onWarning) opts.onWarning(msg);
      else logger?.warn(datasetChanged, msg);
    }
    const B = trainOpts.batchSize;
    const N = meta.trainCount;
    if (!Number.isInteger(B) || B < 2) throw new Error(`batch size must be an integer >= 2, got ${B}`);
    if (N < B) throw new Error(`dataset ${meta.name} has ${N} training images, fewer than one batch of ${B}`);
    const stepsPerEpoch = Math.floor(N / B); // the last partial batch is dropped: BN sees constant batch sizes
    const per = meta.height * meta.width * meta.channels;

    let perm: Uint32Array;
    if (needNewEpoch) {
      epochStart = epochRng.getState();
      perm = epochRng.permutation(N);
    } else {
      // Redraw the current epoch's permutation from its starting RNG state.
      epochRng = Rng.fromState(epochStart);
      perm = epochRng.permutation(N);
    }

    const runStartStep = state.step;
    const targetStep = runStartStep + opts.steps;
    const backend = backendInfo()?.label ?? tf.getBackend();
    opts.onStarted?.({
      runStartStep,
      targetStep,
      backend,
      config: cfg,
      trainOptions: trainOpts,
      ...(parent ? { resumedFrom: parent } : {}),
      ...(runSeed !== undefined ? { runSeed } : {}),
    });
    logger?.info({ runStartStep, targetStep, backend, config: cfg, trainOptions: trainOpts, resumedFrom: parent, runSeed }, 'training started');

    const t0 = performance.now();
    let win = { steps: 0, lossD: 0, lossG: 0, dReal: 0, dFake: 0, frozen: 0, t: t0 };
    let last = { lossD: NaN, lossG: NaN };
    let stopped = false;
    let lastVersion: { version: string; dir: string } | undefined;
    let lastMetrics: CheckpointMetrics = {};

    const checkpoint = async (final: boolean): Promise<void> => {
      await opts.beforeCheckpoint?.(state);
      if (state.ema) copyWeights(state.generator, state.ema, 'non-trainable');
      const elapsed = (performance.now() - t0) / 1000;
      let metrics: CheckpointMetrics = {};
      // The figures are those of what the bot will serve: the average when there is one.
      const served = state.ema ?? state.generator;
      if (final && opts.evaluate) {
        metrics =
          typeof opts.evaluate === 'function'
            ? await opts.evaluate(served, cfg, data)
            : await defaultEvaluate(served, cfg, data, logger);
      }
      const saved = await saveCheckpoint(opts.modelsDir, {
        state,
        config: cfg,
        metrics,
        ...(parent ? { parent } : {}),
        trainer: {
          noiseRng: noiseRng.getState(),
          epochRng: epochStart,
          epoch,
          batchInEpoch,
          seed,
          ...(runSeed !== undefined ? { runSeed } : {}),
          datasetFingerprint: meta.fingerprint,
          datasetName: meta.name,
          trainSeconds: trainSeconds + elapsed,
          backend,
          history: history.slice(-HISTORY_LIMIT),
        },
      });
      const activate = final && opts.activate !== false;
      if (activate) await setActiveCheckpoint(opts.modelsDir, saved.version, { verify: true });
      parent = saved.version;
      lastVersion = saved;
      lastMetrics = metrics;
      logger?.info({ version: saved.version, step: state.step, metrics, active: activate }, 'checkpoint written');
      opts.onCheckpoint?.({ ...saved, step: state.step, metrics, active: activate });
    };

    for (let i = 0; i < opts.steps; i++) {
      if (opts.shouldStop?.()) {
        stopped = true;
        break;
      }
      if (opts.maxSeconds !== undefined && (performance.now() - t0) / 1000 >= opts.maxSeconds) {
        stopped = true;
        logger?.info({ maxSeconds: opts.maxSeconds }, 'time limit reached');
        break;
      }
      if (batchInEpoch >= stepsPerEpoch) {
        epoch += 1;
        batchInEpoch = 0;
        epochStart = epochRng.getState();
        perm = epochRng.permutation(N);
        state.resetRunningMeans();
      }
      const idx = perm.subarray(batchInEpoch * B, (batchInEpoch + 1) * B);
      const flips = trainOpts.flip ? flipsFor(trainOpts.augmentSeed, state.step, B) : undefined;
      const real = tf.tensor4d(gatherBatch(data.train, per, idx, meta.width, meta.channels, flips), [B, meta.height, meta.width, meta.channels]);
      const z = tf.tensor2d(noiseRng.normalArray(B * cfg.nz), [B, cfg.nz]);
      let r: StepResult;
      try {
        r = opts.stepFn ? await opts.stepFn(state, real, z) : trainStep(state, real, z);
      } finally {
        real.dispose();
        z.dispose();
      }
      if (state.ema) updateEma(state.ema, state.generator, emaBeta(B, state.step * B, trainOpts.emaHalfLifeImages, trainOpts.emaRampup));
      batchInEpoch += 1;
      last = { lossD: r.lossD, lossG: r.lossG };
      win.steps += 1;
      win.lossD += r.lossD;
      win.lossG += r.lossG;
      win.dReal += r.dReal;
      win.dFake += r.dFake;
      win.frozen += r.frozen ? 1 : 0;
      const now = performance.now();
      if (opts.onStep) {
        const elapsed = (now - t0) / 1000;
        const bySteps = (elapsed / (i + 1)) * (opts.steps - i - 1);
        const byTime = opts.maxSeconds !== undefined ? Math.max(0, opts.maxSeconds - elapsed) : Infinity;
        opts.onStep({
          step: state.step,
          runStepsDone: i + 1,
          runStepsTotal: opts.steps,
          lossD: r.lossD,
          lossG: r.lossG,
          elapsed,
          etaSeconds: Math.min(bySteps, byTime),
          fraction: Math.max((i + 1) / opts.steps, opts.maxSeconds ? Math.min(1, elapsed / opts.maxSeconds) : 0),
        });
      }
      if (win.steps === logEvery || i === opts.steps - 1) {
        const secs = (now - win.t) / 1000;
        const done = i + 1;
        const rate = (now - t0) / 1000 / done;
        const p: TrainProgress = {
          type: 'progress',
          step: state.step,
          targetStep,
          runStepsDone: done,
          runStepsTotal: opts.steps,
          lossD: win.lossD / win.steps,
          lossG: win.lossG / win.steps,
          dReal: win.dReal / win.steps,
          dFake: win.dFake / win.steps,
          freezeRate: win.frozen / win.steps,
          imagesPerSecond: secs > 0 ? (win.steps * B) / secs : 0,
          // A time limit can end the run before its step count does.
          etaSeconds: Math.min(
            rate * (opts.steps - done),
            opts.maxSeconds !== undefined ? Math.max(0, opts.maxSeconds - (now - t0) / 1000) : Infinity,
          ),
        };
        history.push({
          step: p.step,
          lossD: p.lossD,
          lossG: p.lossG,
          dReal: p.dReal,
          dFake: p.dFake,
          freezeRate: p.freezeRate,
          imagesPerSecond: p.imagesPerSecond,
        });
        if (history.length > HISTORY_LIMIT * 2) history = history.slice(-HISTORY_LIMIT);
        opts.onProgress?.(p);
        logger?.debug(p, 'training progress');
        win = { steps: 0, lossD: 0, lossG: 0, dReal: 0, dFake: 0, frozen: 0, t: now };
      }
      if (opts.checkpointEvery && (i + 1) % opts.checkpointEvery === 0 && i + 1 < opts.steps) await checkpoint(false);
      // Let signals and IPC messages in (a stop request lands between steps).
      await new Promise<void>((res) => setImmediate(res));
    }
    const steps = state.step - runStartStep;
    const seconds = (performance.now() - t0) / 1000;
    // A run that trained nothing (stopped before its first step) publishes nothing: a copy of
    // its starting point under a new name would only look like progress.
    if (steps > 0) await checkpoint(true);
    const result: TrainRunResult = {
      version: lastVersion?.version,
      dir: lastVersion?.dir,
      step: state.step,
      steps,
      stopped,
      freezeCount: state.freezeCount,
      seconds,
      imagesPerSecond: seconds > 0 ? (steps * B) / seconds : 0,
      lossD: last.lossD,
      lossG: last.lossG,
      metrics: lastMetrics,
    };
    logger?.info(result, stopped ? 'training stopped early' : 'training finished');
    return result;
  } finally {
    state.dispose();
    state.generator.dispose();
    state.discriminator.dispose();
  }
}

export interface ResumeChoice {
  /** Version to continue from; undefined = train from scratch. */
  version?: string;
  /** The active version when it was unusable and skipped. */
  skipped?: string;
  /** One line for the user/log when the active checkpoint could not be used. */
  warning?: string;
}

/**
 * Picks the checkpoint to continue from when no version was named: the active
 * one if it verifies; otherwise (corrupted, missing, bad manifest) the newest
 * checkpoint that verifies, or none (from scratch). No tensors escape.
 */
export async function chooseResumeCheckpoint(modelsDir: string): Promise<ResumeChoice> {
  let active: string | undefined;
  let problem: string | undefined;
  try {
    active = (await readManifest(modelsDir)).active ?? undefined;
  } catch (err) {
    problem = (err as Error).message;
  }
  if (active) {
    try {
      await verifyCheckpoint(modelsDir, active);
      return { version: active };
    } catch (err) {
      problem = (err as Error).message;
    }
  }
  if (!problem) return {};
  const fallback = await newestValidCheckpoint(modelsDir, { exclude: active ? [active] : [] });
  const warning = `${problem}; ${fallback ? `continuing from the newest valid checkpoint ${fallback} instead` : 'no valid checkpoint left, training from scratch'}`;
  return { ...(fallback ? { version: fallback } : {}), ...(active ? { skipped: active } : {}), warning };
}

export interface ThreadingHooks {
  stepFn?: TrainRunOptions['stepFn'];
  beforeCheckpoint?: TrainRunOptions['beforeCheckpoint'];
  /** Human description for logs. */
  description: string;
  close(): Promise<void>;
}

/**
 * Step hooks for `threads` (1 or 2). With 2 on the WASM/CPU backends, training
 * runs data-parallel (src/gan/parallel: a worker-thread replica, gradients
 * averaged every step; BN statistics averaged before each checkpoint). The
 * native backend already uses every core, so 2 is ignored there.
 */
export async function threadingHooks(threads: number): Promise<ThreadingHooks> {
  const backend = tf.getBackend();
  if (threads < 2) return { description: '1 thread', close: async () => {} };
  if (backend !== 'wasm' && backend !== 'cpu') {
    return { description: `native backend (${backend}) manages its own threads; --threads ignored`, close: async () => {} };
  }
  const { createDataParallelStepper } = await import('./parallel/index.ts');
  const dp = createDataParallelStepper();
  return {
    stepFn: dp.stepFn,
    beforeCheckpoint: (state) => dp.averageBatchNormStats(state),
    description: `2 threads (data-parallel, ${backend})`,
    close: () => dp.close(),
  };
}
