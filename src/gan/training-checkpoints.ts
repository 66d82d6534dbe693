/**
 * The checkpoints a training run writes: every `checkpointEvery` steps and at
 * the end, each with the whole trainer state for an exact resume; the final one
 * is evaluated (quality metrics of the generator the bot would serve) and, by
 * default, made the active one.
 */
import type { Logger } from 'pino';
import type { tf } from '../tf/index.ts';
import type { Dataset } from '../data/dataset.ts';
import type { GanConfig } from './model.ts';
import { recomputeBatchNormStats } from './batch-norm-stats.ts';
import { saveCheckpoint } from './checkpoint.ts';
import { setActiveCheckpoint } from './catalogue.ts';
import type { CheckpointMetrics } from './quality.ts';
import type { EpochOrder } from './training-batches.ts';
import { HISTORY_LIMIT, type ProgressMeter } from './training-progress.ts';
import type { TrainingRun } from './training-setup.ts';
import type { TrainRunOptions } from './training-options.ts';

type WriterOptions = Pick<
  TrainRunOptions,
  'modelsDir' | 'evaluate' | 'activate' | 'beforeCheckpoint' | 'onCheckpoint' | 'logger'
>;

async function defaultEvaluate(
  generator: tf.LayersModel,
  cfg: GanConfig,
  data: Dataset,
  logger?: Logger,
): Promise<CheckpointMetrics> {
  try {
    const metrics = (await import('./metrics.ts')) as Record<string, unknown>;
    const fn = metrics.evaluateGenerator as
      | ((m: tf.LayersModel, c: GanConfig, heldout: Dataset, o: Record<string, unknown>) => Promise<CheckpointMetrics>)
      | undefined;
    if (typeof fn !== 'function') throw new Error('src/gan/metrics.ts has no evaluateGenerator');
    // The whole dataset (not just its pixels): metrics need the background colour in meta.
    const r = await fn(generator, cfg, data, {});
    const out: CheckpointMetrics = {};
    for (const [k, v] of Object.entries(r))
      if ((typeof v === 'number' && Number.isFinite(v)) || (k === 'metric' && typeof v === 'string')) out[k] = v;
    return out;
  } catch (err) {
    logger?.warn({ err: (err as Error).message }, 'quality metrics unavailable; checkpoint saved without them');
    return {};
  }
}

/** Writes a run's checkpoints; remembers the last one for the run's result. */
export class RunCheckpoints {
  /** The last checkpoint written (none yet: undefined). */
  last: { version: string; dir: string } | undefined;
  /** Its quality figures ({} unless it was evaluated). */
  metrics: CheckpointMetrics = {};

  constructor(
    private readonly opts: WriterOptions,
    private readonly run: TrainingRun,
    private readonly data: Dataset,
    private readonly order: EpochOrder,
    private readonly meter: ProgressMeter,
    /** The backend label recorded in the trainer state. */
    private readonly backend: string,
  ) {}

  /**
   * Writes a checkpoint of the run as it stands. `final`: the run's last one,
   * evaluated when opts.evaluate and activated unless opts.activate is false.
   */
  async write(final: boolean): Promise<void> {
    const { opts, run, data } = this;
    const { state, cfg } = run;
    const { meta } = data;
    await opts.beforeCheckpoint?.(state);
    // The average's own batch-norm statistics, not the raw generator's (batch-norm-stats.ts).
    if (state.ema) recomputeBatchNormStats(state.ema);
    const elapsed = this.meter.seconds();
    let metrics: CheckpointMetrics = {};
    // The figures are those of what the bot will serve: the average when there is one.
    const served = state.ema ?? state.generator;
    if (final && opts.evaluate) {
      metrics =
        typeof opts.evaluate === 'function'
          ? await opts.evaluate(served, cfg, data)
          : await defaultEvaluate(served, cfg, data, opts.logger);
    }
    const saved = await saveCheckpoint(opts.modelsDir, {
      state,
      config: cfg,
      metrics,
      ...(run.parent ? { parent: run.parent } : {}),
      ...(state.ema ? { servedBatchNorm: 'recomputed' as const } : {}),
      trainer: {
        noiseRng: run.noiseRng.getState(),
        ...this.order.position(),
        seed: run.seed,
        ...(run.runSeed !== undefined ? { runSeed: run.runSeed } : {}),
        datasetFingerprint: meta.fingerprint,
        datasetName: meta.name,
        trainSeconds: run.trainSeconds + elapsed,
        backend: this.backend,
        history: run.history.slice(-HISTORY_LIMIT),
      },
    });
    const activate = final && opts.activate !== false;
    if (activate) await setActiveCheckpoint(opts.modelsDir, saved.version, { verify: true });
    run.parent = saved.version;
    this.last = saved;
    this.metrics = metrics;
    opts.logger?.info({ version: saved.version, step: state.step, metrics, active: activate }, 'checkpoint written');
    opts.onCheckpoint?.({ ...saved, step: state.step, metrics, active: activate });
  }
}
