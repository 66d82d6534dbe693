/**
 * The scheduler: node-cron starts a training run on TRAIN_CRON (admins can start/stop one too);
 * each run is a trainer child process (run-child.ts) so the bot's event loop never trains. One run
 * at a time: a run already going means the new one is skipped (logged).
 *
 * Every run is a TrainingRun row. A crash ends it as `failed` and changes nothing for users. A
 * checkpoint the run reports goes through the quality gate, then is hot-swapped and made active in
 * the manifest (activation.ts).
 *
 * Only the process holding the trainer lease runs one (lease-service.ts starts/unschedules it and
 * sets `guard`); in a process that serves nobody (`npm run trainer`, the shard manager) `generation`
 * is a PublishedModel that only keeps the published checkpoint's metadata. Runs continue from the
 * version served (`--resume V`), which is also what candidates are compared with.
 */
import type { ChildProcess } from 'node:child_process';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { Config } from '../config/env.ts';
import type { PrismaClient } from '../db/client.ts';
import { StorageUnavailableError } from '../db/storage-health.ts';
import { failInterruptedRuns } from '../db/training.ts';
import { modelsDirProblem } from '../gan/models-dir.ts';
import { Activation, type SwapEvent } from './activation.ts';
import { checkpointStatuses, type CheckpointStatus } from './checkpoint-statuses.ts';
import { trainingDatasetProblem } from './dataset-check.ts';
import { askToStop } from './run-child.ts';
import type { LastRunInfo, RunInfo } from './run-record.ts';
import { conductRun, type RunContext, type RunTrigger } from './training-run.ts';
import type { ServedModel } from './served.ts';

export interface SchedulerOptions {
  config: Config;
  db: PrismaClient;
  generation: ServedModel;
  log: Logger;
  /**
   * Asked before every run: a reason why this process must not train now (e.g. it does not hold
   * the trainer lease), or undefined.
   */
  guard?: () => string | undefined;
  /** Trainer child entry (default src/bin/trainer-child.ts). */
  entry?: string;
  /** Extra environment for the child (merged over process.env and the config). */
  env?: Record<string, string>;
  /** Extra trainer flags (see `npm run train -- --help`), e.g. ['--dataset', dir, '--log-every', '5']. */
  args?: string[];
  /** Relative margin of the quality gate: a candidate whose KID (or FID) is more than this fraction worse than the active one's is rejected. */
  qualityMargin?: number;
  /** How long stop() waits for a checkpoint before killing the trainer. */
  stopTimeoutMs?: number;
  /** Schedule runs with TRAIN_CRON (default true). */
  schedule?: boolean;
  /** Copy the trainer's stderr (its logs) to ours (default true). */
  forwardStderr?: boolean;
}

export type SchedulerState = 'idle' | 'running' | 'stopping';
export interface RunStart {
  started: boolean;
  reason?: string;
  noDataset?: boolean;
}

type Listener = (
  e:
    | { type: 'run-finished'; run: LastRunInfo }
    | { type: 'swap'; swap: SwapEvent }
    | { type: 'run-progress'; run: RunInfo },
) => void;

export class TrainingScheduler {
  private task?: ScheduledTask;
  private child?: ChildProcess;
  private current?: RunInfo;
  private finishing?: Promise<void>;
  /** Settles once the current run's row is in the database (rejects when it could not be written). */
  private recording?: Promise<void>;
  private last?: LastRunInfo;
  private listeners = new Set<Listener>();
  private stateValue: SchedulerState = 'idle';
  private readonly activation: Activation;
  readonly qualityMargin: number;

  constructor(private readonly opts: SchedulerOptions) {
    this.qualityMargin = opts.qualityMargin ?? 0.1;
    this.activation = new Activation({
      modelsDir: opts.config.MODELS_DIR,
      db: opts.db,
      served: opts.generation,
      log: opts.log,
      qualityMargin: this.qualityMargin,
      onSwap: (swap) => this.emit({ type: 'swap', swap }),
    });
  }

  get state(): SchedulerState {
    return this.stateValue;
  }
  get currentRun(): RunInfo | undefined {
    return this.current;
  }
  get lastRun(): LastRunInfo | undefined {
    return this.last;
  }
  get lastSwapEvent(): SwapEvent | undefined {
    return this.activation.lastSwap;
  }
  /** What this scheduler hot-swaps (its "active" is what candidates are compared with). */
  get servedModel(): ServedModel {
    return this.opts.generation;
  }
  /**
   * True while a run or a swap of ours is in progress: the manifest and the served version may
   * legitimately differ then (the trainer writes the manifest before our quality gate decides), so
   * the manifest watcher waits.
   */
  get busy(): boolean {
    return this.stateValue !== 'idle' || !!this.finishing || this.activation.busy;
  }

  /** Records a checkpoint activated outside the bot (manifest changed by the CLI) as active; emits a swap event. */
  recordExternalActivation(version: string, previous: string | undefined): Promise<void> {
    return this.activation.recordExternal(version, previous);
  }

  /** Subscribe to run ends and swaps (tests, status). Returns an unsubscribe function. */
  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops scheduling runs (a run in progress continues); start() schedules again. */
  async unschedule(): Promise<void> {
    await this.task?.destroy();
    this.task = undefined;
  }

  /** Starts the cron schedule (and closes runs a previous process left 'running'). */
  start(): void {
    if (!this.finishing) {
      this.syncOnStart().catch((err) => this.opts.log.warn({ err }, 'could not sync training records'));
    }
    if (this.opts.schedule === false || this.task) return;
    this.task = cron.schedule(
      this.opts.config.TRAIN_CRON,
      () => {
        const r = this.runNow('cron');
        if (r.noDataset) this.opts.log.warn({ reason: r.reason }, 'scheduled training skipped: no dataset');
        else if (!r.started) this.opts.log.info({ reason: r.reason }, 'scheduled training skipped');
      },
      { name: 'shoebot-train', noOverlap: true },
    );
    this.opts.log.info(
      { cron: this.opts.config.TRAIN_CRON, next: this.nextRun()?.toISOString() },
      'training scheduled',
    );
  }

  /** Closes runs a previous process left 'running'; records the checkpoint serving now as active. */
  private async syncOnStart(): Promise<void> {
    const { db, log } = this.opts;
    const n = await failInterruptedRuns(db, 'interrupted: the bot stopped during the run');
    if (n) log.warn({ runs: n }, 'marked interrupted training runs as failed');
    const active = this.opts.generation.active;
    if (active) await this.activation.recordActive(active);
  }

  /** When cron will start the next run, if scheduled. */
  nextRun(): Date | null {
    return this.task?.getNextRun() ?? null;
  }

  /** Why a run must not start now, or undefined. */
  private refusal(trigger: RunTrigger): RunStart | undefined {
    if (this.stateValue !== 'idle' || this.finishing) {
      this.opts.log.info({ trigger }, 'a training run is already going; not starting another');
      return { started: false, reason: 'a training run is already going' };
    }
    const refused = this.opts.guard?.();
    if (refused) return { started: false, reason: refused };
    // Checked here, not left to the child: a missing dataset is a set-up step, not a failed run to record nightly.
    const missing = this.datasetProblem();
    if (missing) return { started: false, reason: missing, noDataset: true };
    // Also checked by the trainer itself; here so the admin hears it at once and no failed run is recorded.
    const unwritable = modelsDirProblem(this.opts.env?.MODELS_DIR ?? this.opts.config.MODELS_DIR);
    if (unwritable) {
      this.opts.log.warn({ trigger, reason: unwritable }, 'training not started');
      return { started: false, reason: unwritable };
    }
    return undefined;
  }

  /** Starts a run now (unless one is going). `steps` defaults to TRAIN_STEPS. The run continues from the active checkpoint. */
  runNow(trigger: RunTrigger, steps = this.opts.config.TRAIN_STEPS): RunStart {
    const refused = this.refusal(trigger);
    if (refused) return refused;
    this.stateValue = 'running';
    let recorded!: (err?: unknown) => void;
    this.recording = new Promise<void>((resolve, reject) => (recorded = (err) => (err ? reject(err) : resolve())));
    this.recording.catch(() => undefined); // callers that do not wait for it (cron) must not see an unhandled rejection
    // The run row is created before forking so a crash at start-up is recorded too.
    this.finishing = conductRun(this.runContext(recorded), trigger, steps)
      // A database failure while recording must not become an unhandled rejection.
      .catch((err) => {
        recorded(err);
        this.opts.log.error({ err, trigger }, 'training run could not be recorded');
      })
      .finally(() => {
        this.finishing = undefined;
        this.stateValue = 'idle';
        this.current = undefined;
        this.child = undefined;
      });
    return { started: true };
  }

  /**
   * runNow, answered only once the run is recorded in the database: an admin is never told
   * "Training started" about a run that could not be written down (and therefore never trained).
   */
  async startRun(trigger: RunTrigger, steps = this.opts.config.TRAIN_STEPS): Promise<RunStart> {
    const r = this.runNow(trigger, steps);
    if (!r.started) return r;
    try {
      await this.recording;
      return r;
    } catch (err) {
      const reason =
        err instanceof StorageUnavailableError
          ? `the run could not be recorded (${err.fault === 'full' ? "the bot's storage is full" : "the bot's database is unavailable"}; the operator has been told)`
          : "the run could not be recorded in the database (see the bot's log)";
      return { started: false, reason };
    }
  }

  /** Undefined when the dataset the trainer will use exists; else which one is missing and how to create it. */
  datasetProblem(): string | undefined {
    return trainingDatasetProblem(this.opts.config, this.opts.args ?? [], this.opts.env);
  }

  /** Resolves when the current run (if any) has finished and been recorded. */
  async waitIdle(): Promise<void> {
    await this.finishing;
  }

  /** What one run needs from the scheduler, and how it reports back. */
  private runContext(recorded: () => void): RunContext {
    const { config, db, log, entry, env, forwardStderr } = this.opts;
    return {
      db,
      log,
      served: this.opts.generation,
      activation: this.activation,
      fork: {
        config,
        ...(entry ? { entry } : {}),
        ...(env ? { env } : {}),
        ...(forwardStderr === false ? { forwardStderr } : {}),
      },
      extraArgs: this.opts.args ?? [],
      recorded,
      progress: (run) => {
        this.current = run;
        this.emit({ type: 'run-progress', run });
      },
      forked: (child) => (this.child = child),
      finished: (last) => {
        this.last = last;
        this.emit({ type: 'run-finished', run: last });
      },
    };
  }

  /** Rolls back to `version` (default: the newest usable checkpoint older than the active one). Returns the version now active. */
  rollback(version?: string): Promise<string> {
    return this.activation.rollback(version);
  }

  /** Checkpoints on disk with their quality figures and statuses (for /train status). */
  checkpoints(): Promise<CheckpointStatus[]> {
    return checkpointStatuses(this.opts.config.MODELS_DIR, this.opts.db, this.opts.generation.active?.version);
  }

  /** Asks the running trainer to stop at the next step and checkpoint. */
  requestStop(): boolean {
    if (!this.child || this.stateValue !== 'running') return false;
    this.stateValue = 'stopping';
    askToStop(this.child);
    return true;
  }

  /**
   * Shutdown: no more scheduled runs; a running trainer is asked to stop and write its checkpoint,
   * and killed if it takes longer than stopTimeoutMs.
   */
  async stop(): Promise<void> {
    await this.task?.destroy();
    this.task = undefined;
    if (!this.finishing) return;
    const child = this.child;
    this.requestStop();
    const timeout = setTimeout(() => child?.kill('SIGKILL'), this.opts.stopTimeoutMs ?? 60_000);
    try {
      await this.finishing;
    } finally {
      clearTimeout(timeout);
    }
  }

  private emit(e: Parameters<Listener>[0]): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.opts.log.warn({ err }, 'trainer listener failed');
      }
    }
  }
}
