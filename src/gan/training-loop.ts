/**
 * The training loop: dataset -> [-1, 1] batches in a seeded order -> trainStep
 * -> per-window figures -> a checkpoint at the end (and optionally every N
 * steps). Used by `npm run train` and by the trainer child process the bot
 * forks; both render progress through the `onProgress` callback. It reads
 * like pytorch/examples' dcgan/main.py; the parts around the loop are
 * training-setup.ts (models, optimisers, resume), training-batches.ts (data
 * order, flips), training-progress.ts (progress, history, result) and
 * training-checkpoints.ts (writing, evaluating, activating); the options are
 * training-options.ts.
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
import { tf, backendInfo } from '../tf/index.ts';
import { loadDataset, type Dataset } from '../data/dataset.ts';
import { trainStep, type StepResult } from './train-step.ts';
import { emaBeta, updateEma } from './ema.ts';
import { EpochOrder, realBatch } from './training-batches.ts';
import { checkRunData, prepareModelsDir, startRun, type TrainingRun } from './training-setup.ts';
import { ProgressMeter, runResult } from './training-progress.ts';
import { RunCheckpoints } from './training-checkpoints.ts';
import type { TrainRunOptions, TrainRunResult } from './training-options.ts';

/**
 * Runs (or continues) training for `opts.steps` steps and writes a checkpoint.
 * Tensors: none leak; the models live until the function returns.
 */
export async function runTraining(opts: TrainRunOptions): Promise<TrainRunResult> {
  if (!Number.isInteger(opts.steps) || opts.steps < 1)
    throw new Error(`steps must be a positive integer, got ${opts.steps}`);
  prepareModelsDir(opts.modelsDir, opts.logger);
  const data = typeof opts.dataset === 'string' ? await loadDataset(opts.dataset) : opts.dataset;
  // Models, optimisers, weight average, RNGs: from a checkpoint or from a seed.
  const run = await startRun(opts, data);
  const { state, trainOpts } = run;
  try {
    checkRunData(run, data, opts);
    const B = trainOpts.batchSize;
    const order = new EpochOrder(run.order, data.meta.trainCount, B);
    const runStartStep = state.step;
    const backend = backendInfo()?.label ?? tf.getBackend();
    announceStart(opts, run, backend);
    const meter = new ProgressMeter(opts, run, runStartStep + opts.steps);
    const checkpoints = new RunCheckpoints(opts, run, data, order, meter, backend);
    let stopped = false;

    for (let i = 0; i < opts.steps; i++) {
      if (opts.shouldStop?.() || meter.timeIsUp()) {
        stopped = true;
        break;
      }
      const r = await trainOnNextBatch(opts, run, data, order);
      meter.record(i, r); // progress bar, logging window, loss history
      if (opts.checkpointEvery && (i + 1) % opts.checkpointEvery === 0 && i + 1 < opts.steps)
        await checkpoints.write(false);
      // Let signals and IPC messages in (a stop request lands between steps).
      await new Promise<void>((res) => setImmediate(res));
    }

    const steps = state.step - runStartStep;
    const seconds = meter.seconds();
    // A run that trained nothing (stopped before its first step) publishes nothing: a copy of
    // its starting point under a new name would only look like progress.
    if (steps > 0) await checkpoints.write(true);
    return runResult(
      run,
      meter,
      { steps, seconds, stopped, saved: checkpoints.last, metrics: checkpoints.metrics },
      opts.logger,
    );
  } finally {
    state.dispose();
    state.generator.dispose();
    state.discriminator.dispose();
  }
}

/**
 * One training step on the next real batch and fresh noise (D unless frozen, then G), then the
 * weight average's update; returns the step's losses and D's outputs.
 */
async function trainOnNextBatch(
  opts: TrainRunOptions,
  run: TrainingRun,
  data: Dataset,
  order: EpochOrder,
): Promise<StepResult> {
  const { state, cfg, trainOpts } = run;
  const B = trainOpts.batchSize;
  // The next real batch; freezing compares running means over the current epoch.
  const { indices, newEpoch } = order.next();
  if (newEpoch) state.resetRunningMeans();
  const real = realBatch(data, indices, trainOpts.flip ? { seed: trainOpts.augmentSeed, step: state.step } : undefined);
  const z = tf.tensor2d(run.noiseRng.normalArray(B * cfg.nz), [B, cfg.nz]);
  // Update D (unless frozen), then G.
  let r: StepResult;
  try {
    r = opts.stepFn ? await opts.stepFn(state, real, z) : trainStep(state, real, z);
  } finally {
    real.dispose();
    z.dispose();
  }
  // The generator the bot serves: an exponential moving average of G's weights.
  if (state.ema)
    updateEma(state.ema, state.generator, emaBeta(B, state.step * B, trainOpts.emaHalfLifeImages, trainOpts.emaRampup));
  return r;
}

/** Tells the caller (onStarted) and the log what the run is about to do. */
function announceStart(opts: TrainRunOptions, run: TrainingRun, backend: string): void {
  const runStartStep = run.state.step;
  const targetStep = runStartStep + opts.steps;
  const { cfg: config, trainOpts: trainOptions, parent, runSeed } = run;
  opts.onStarted?.({
    runStartStep,
    targetStep,
    backend,
    config,
    trainOptions,
    ...(parent ? { resumedFrom: parent } : {}),
    ...(runSeed !== undefined ? { runSeed } : {}),
  });
  opts.logger?.info(
    { runStartStep, targetStep, backend, config, trainOptions, resumedFrom: parent, runSeed },
    'training started',
  );
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
    return {
      description: `native backend (${backend}) manages its own threads; --threads ignored`,
      close: async () => {},
    };
  }
  const { createDataParallelStepper } = await import('./parallel/stepper.ts');
  const dp = createDataParallelStepper();
  return {
    stepFn: dp.stepFn,
    beforeCheckpoint: (state) => dp.averageBatchNormStats(state),
    description: `2 threads (data-parallel, ${backend})`,
    close: () => dp.close(),
  };
}
