/**
 * Scheduled training, from the bot's side. node-cron starts a run on
 * TRAIN_CRON (admins can start/stop one too); each run is a separate child
 * process (src/gan/trainer-process.ts, speaking src/gan/protocol.ts) so the
 * bot's event loop never trains. One run at a time: a run already going means
 * the new one is skipped (logged).
 *
 * Every run is a TrainingRun row. A crash (non-zero exit, `error` message)
 * ends it as `failed` and changes nothing for users. A checkpoint the run
 * reports goes through the quality gate (worse than the active one by more
 * than `qualityMargin` -> `rejected`), then is hot-swapped into the
 * generation service and made active in the manifest.
 *
 * Only the process holding the trainer lease runs one (src/trainer/service.ts
 * starts/unschedules it and sets `guard`); in a process that serves nobody
 * (`npm run trainer`, the shard manager) `generation` is a stand-in that only
 * keeps the published checkpoint's metadata. Runs continue from the version
 * served (`--resume V`), which is also what candidates are compared with.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { Config } from '../config/env.ts';
import { activeDataset, readManifest, runDatasetName } from '../gan/manifest.ts';
import { checkpointsDir } from '../gan/checkpoint.ts';
import { compareQuality, type CheckpointMetrics } from '../gan/quality.ts';
import { listCheckpoints, setActiveCheckpoint, type CheckpointSummary } from '../gan/catalogue.ts';
import { loadGeneratorCheckpoint, readCheckpointMeta } from '../gan/checkpoint-load.ts';
import { DEFAULT_DATASET, resolveDatasetDir } from '../data/dataset.ts';
import { isTrainerMessage, type BotToTrainer, type TrainProgress, type TrainerToBot } from '../gan/protocol.ts';
import { StorageUnavailableError } from '../db/storage-health.ts';
import { modelsDirProblem } from '../gan/models-dir.ts';
import { failInterruptedRuns, failTrainingRun, finishTrainingRun, setCheckpointStatus, startTrainingRun, upsertCheckpoint } from '../db/training.ts';
import type { GeneratorInfo } from './generation.ts';
import type { Store } from './store.ts';
import type { PrismaClient } from '../db/client.ts';

/**
 * What the runner hot-swaps: the bot's GenerationService, or (in a process that only trains: the
 * standalone trainer, the shard manager) a stand-in that keeps the published checkpoint's metadata.
 */
export interface ServedModel {
  readonly active: { version: string; step: number; metrics: CheckpointMetrics; createdAt?: string } | undefined;
  /** Makes `next` the served generator (the callee owns `next.model` from then on); throws to refuse it. */
  swap(next: GeneratorInfo): Promise<void>;
}

export const TRAINER_ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'gan', 'trainer-process.ts');

export interface TrainerRunnerOptions {
  config: Config;
  store: Store;
  generation: ServedModel;
  log: Logger;
  /**
   * Asked before every run: a reason why this process must not train now (e.g. it does not hold
   * the trainer lease), or undefined.
   */
  guard?: () => string | undefined;
  /** Child process entry (default src/gan/trainer-process.ts). */
  entry?: string;
  /** Extra environment for the child (merged over process.env and the config). */
  env?: Record<string, string>;
  /** Extra trainer flags (see `npm run train -- --help`), e.g. ['--dataset', dir, '--log-every', '5']. */
  args?: string[];
  /**
   * Relative margin of the quality gate: a candidate whose KID (or FID) is
   * more than this fraction worse than the active one's is rejected.
   */
  qualityMargin?: number;
  /** How long stop() waits for a checkpoint before killing the trainer. */
  stopTimeoutMs?: number;
  /** Schedule runs with TRAIN_CRON (default true). */
  schedule?: boolean;
  /** Copy the trainer's stderr (its logs) to ours (default true). */
  forwardStderr?: boolean;
}

export type TrainerState = 'idle' | 'running' | 'stopping';

/** Most steps one run may take: the same bound as TRAIN_STEPS in src/config/env.ts. */
export { MAX_TRAIN_STEPS } from '../config/env.ts';

/** What to tell an operator whose training dataset is missing. */
export const DATASET_HINT = 'create it on the bot host with `sudo apt-get install dataset-fashion-mnist` then `npm run data:import -- --source fashion-mnist` (see README)';
/** How to re-create the dataset a model was trained on (the shipped 64x64 RGB model: a folder of shoe photos). */
export const folderDatasetHint = (d: { name: string; imageSize: number; channels: number }): string =>
  `import the images the active model was trained on under that name, on the bot host: ` +
  `\`npm run data:import -- --source folder --dir <images> --size ${d.imageSize} --channels ${d.channels} --out ${d.name}\` (see README, "Colour photos")`;

export interface RunInfo {
  runId: number;
  trigger: string;
  startedAt: number;
  steps: number;
  runStartStep?: number;
  targetStep?: number;
  backend?: string;
  progress?: TrainProgress;
  /** Loss points of this run (for the plot). */
  history: { step: number; lossD: number; lossG: number }[];
  config?: Record<string, unknown>;
}

export interface LastRunInfo {
  runId: number;
  status: string;
  trigger: string;
  startedAt: number;
  endedAt: number;
  steps: number;
  imagesPerSecond?: number;
  lossD?: number;
  lossG?: number;
  freezeCount?: number;
  checkpointVersion?: string;
  gate?: string;
  error?: string;
}

export interface SwapEvent {
  version: string;
  previous?: string;
  accepted: boolean;
  reason: string;
}

type Listener = (
  e: { type: 'run-finished'; run: LastRunInfo } | { type: 'swap'; swap: SwapEvent } | { type: 'run-progress'; run: RunInfo },
) => void;

/**
 * The hot-swap quality gate: the same comparison as the command line's
 * (compareQuality: KID, else FID, else sneaker share, with relative slack).
 */
export function qualityVerdict(
  candidate: CheckpointMetrics,
  active: CheckpointMetrics | undefined,
  margin: number,
): { accept: boolean; reason: string } {
  if (!active) return { accept: true, reason: 'no active checkpoint to compare with' };
  const { worse, reason } = compareQuality(candidate, active, margin);
  return { accept: !worse, reason };
}

export class TrainerRunner {
  private task?: ScheduledTask;
  private child?: ChildProcess;
  private current?: RunInfo;
  private finishing?: Promise<void>;
  /** Settles once the current run's row is in the database (rejects when it could not be written). */
  private recording?: Promise<void>;
  private last?: LastRunInfo;
  private listeners = new Set<Listener>();
  private stateValue: TrainerState = 'idle';
  private lastSwap?: SwapEvent;
  private activating = 0;
  readonly qualityMargin: number;

  constructor(private readonly opts: TrainerRunnerOptions) {
    this.qualityMargin = opts.qualityMargin ?? 0.1;
  }

  get state(): TrainerState {
    return this.stateValue;
  }
  get currentRun(): RunInfo | undefined {
    return this.current;
  }
  get lastRun(): LastRunInfo | undefined {
    return this.last;
  }
  get lastSwapEvent(): SwapEvent | undefined {
    return this.lastSwap;
  }
  /** What this runner hot-swaps (its "active" is what candidates are compared with). */
  get servedModel(): ServedModel {
    return this.opts.generation;
  }
  /**
   * True while a run or a swap of ours is in progress: the manifest and the
   * served version may legitimately differ then (the trainer writes the
   * manifest before our quality gate decides), so the manifest watcher waits.
   */
  get busy(): boolean {
    return this.stateValue !== 'idle' || !!this.finishing || this.activating > 0;
  }

  /** Records a checkpoint activated outside the bot (manifest changed by the CLI) as active; emits a swap event. */
  async recordExternalActivation(version: string, previous: string | undefined): Promise<void> {
    const active = this.opts.generation.active;
    if (active?.version === version) await this.recordActive(active, 'activated with the CLI');
    const swap: SwapEvent = { version, previous, accepted: true, reason: 'manifest.json changed outside the bot (CLI)' };
    this.lastSwap = swap;
    this.emit({ type: 'swap', swap });
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
    this.opts.log.info({ cron: this.opts.config.TRAIN_CRON, next: this.nextRun()?.toISOString() }, 'training scheduled');
  }

  /** Closes runs a previous process left 'running'; records the checkpoint serving now as active. */
  private async syncOnStart(): Promise<void> {
    const { store, log } = this.opts;
    const n = await failInterruptedRuns(store.db, 'interrupted: the bot stopped during the run');
    if (n) log.warn({ runs: n }, 'marked interrupted training runs as failed');
    const active = this.opts.generation.active;
    if (active) await this.recordActive(active);
  }

  /** Records a checkpoint now served as the active one in the database (creating its row if new). */
  private async recordActive(
    ck: { version: string; step: number; metrics: { kid?: number; fid?: number; sneakerShare?: number } },
    note?: string,
  ): Promise<void> {
    const { store } = this.opts;
    const m = ck.metrics;
    const existing = await store.db.checkpoint.findUnique({ where: { version: ck.version } });
    if (!existing) {
      await upsertCheckpoint(store.db, {
        version: ck.version,
        step: ck.step,
        kid: m.kid ?? null,
        fid: m.fid ?? null,
        sneakerShare: m.sneakerShare ?? null,
        ...(note ? { note } : {}),
      });
    }
    if (existing?.status !== 'active') await setCheckpointStatus(store.db, ck.version, 'active');
  }

  /** When cron will start the next run, if scheduled. */
  nextRun(): Date | null {
    return this.task?.getNextRun() ?? null;
  }

  /**
   * Starts a run now (unless one is going). `steps` defaults to TRAIN_STEPS.
   * The run continues from the active checkpoint.
   */
  runNow(trigger: 'cron' | 'admin' | 'cli', steps = this.opts.config.TRAIN_STEPS): { started: boolean; reason?: string; noDataset?: boolean } {
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
    this.stateValue = 'running';
    let recorded!: (err?: unknown) => void;
    this.recording = new Promise<void>((resolve, reject) => (recorded = (err) => (err ? reject(err) : resolve())));
    this.recording.catch(() => undefined); // callers that do not wait for it (cron) must not see an unhandled rejection
    // The run row is created before forking so a crash at start-up is recorded too.
    this.finishing = this.execute(trigger, steps, recorded)
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
  async startRun(trigger: 'cron' | 'admin' | 'cli', steps = this.opts.config.TRAIN_STEPS): Promise<{ started: boolean; reason?: string; noDataset?: boolean }> {
    const r = this.runNow(trigger, steps);
    if (!r.started) return r;
    try {
      await this.recording;
      return r;
    } catch (err) {
      const reason = err instanceof StorageUnavailableError
        ? `the run could not be recorded (${err.fault === 'full' ? "the bot's storage is full" : "the bot's database is unavailable"}; the operator has been told)`
        : 'the run could not be recorded in the database (see the bot\'s log)';
      return { started: false, reason };
    }
  }

  /**
   * Undefined when the dataset the trainer will use (its `--dataset` flag, else the active
   * model's, else DEFAULT_DATASET, under DATA_DIR) exists; else a sentence saying which one
   * is missing and how to create it.
   */
  datasetProblem(): string | undefined {
    const args = this.opts.args ?? [];
    const i = args.lastIndexOf('--dataset');
    const flag = args.find((a) => a.startsWith('--dataset='))?.slice('--dataset='.length);
    const model = activeDataset(this.opts.config.MODELS_DIR);
    const name = runDatasetName((i >= 0 ? args[i + 1] : undefined) ?? flag, this.opts.config.MODELS_DIR);
    const dataDir = this.opts.env?.DATA_DIR ?? this.opts.config.DATA_DIR;
    try {
      resolveDatasetDir(name, dataDir);
      return undefined;
    } catch {
      return `the training dataset "${name}" was not found under ${dataDir}/datasets: ${name === DEFAULT_DATASET || name !== model?.name ? DATASET_HINT : folderDatasetHint(model)}`;
    }
  }

  /** Resolves when the current run (if any) has finished and been recorded. */
  async waitIdle(): Promise<void> {
    await this.finishing;
  }

  /**
   * The trainer's flags. It continues from the checkpoint this process SERVES (`--resume V`), so
   * the run, the announcement and the quality gate all follow the one choice made at start-up
   * (which may be a fallback when the manifest's checkpoint is corrupt) instead of the trainer
   * picking its own. `--activate-result` is dropped: publishing is this runner's job, after its gate.
   */
  private childArgs(steps: number, served: string | undefined): string[] {
    const extra = (this.opts.args ?? []).filter((a) => a !== '--activate-result');
    const named = extra.some((a) => a === '--resume' || a.startsWith('--resume='));
    // A generator handed over in memory (tests) has no files to resume from: leave the choice to the trainer.
    const onDisk = served && fs.existsSync(path.join(checkpointsDir(this.opts.config.MODELS_DIR), served));
    return ['--steps', String(steps), ...(!named && onDisk ? ['--resume', served] : []), ...extra];
  }

  private async execute(trigger: string, steps: number, recorded: () => void): Promise<void> {
    const { store, log, config } = this.opts;
    const activeVersion = this.opts.generation.active?.version;
    const startStep = this.opts.generation.active?.step ?? 0;
    const row = await startTrainingRun(store.db, { trigger: trigger as 'cron' | 'admin' | 'cli', startStep });
    recorded();
    const run: RunInfo = { runId: row.id, trigger, startedAt: Date.now(), steps, history: [] };
    this.current = run;
    log.info({ run: row.id, trigger, steps, from: activeVersion ?? 'scratch' }, 'training run starting');
    this.emit({ type: 'run-progress', run });

    let done: Extract<TrainerToBot, { type: 'done' }> | undefined;
    let reportedError: string | undefined;
    let checkpoint: Extract<TrainerToBot, { type: 'checkpoint' }> | undefined;
    let gate: string | undefined;
    const pending: Promise<void>[] = [];
    const stderrTail: string[] = [];

    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
      let child: ChildProcess;
      try {
        child = fork(this.opts.entry ?? TRAINER_ENTRY, this.childArgs(steps, activeVersion), {
          execArgv: ['--import', 'tsx'],
          env: {
            // The trainer never talks to Discord: it does not get the token.
            ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DISCORD_TOKEN')),
            MODELS_DIR: config.MODELS_DIR,
            DATA_DIR: config.DATA_DIR,
            TF_BACKEND: config.TF_BACKEND,
            TRAIN_STEPS: String(steps),
            LOG_LEVEL: config.LOG_LEVEL,
            ...this.opts.env,
          },
          stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
          serialization: 'advanced',
        });
      } catch (err) {
        resolve({ code: null, signal: null, spawnError: err as Error });
        return;
      }
      this.child = child;
      child.stderr?.on('data', (b: Buffer) => {
        if (this.opts.forwardStderr !== false) process.stderr.write(b);
        stderrTail.push(b.toString());
        while (stderrTail.length > 20) stderrTail.shift();
      });
      child.on('message', (m) => {
        if (!isTrainerMessage(m)) return;
        switch (m.type) {
          case 'started':
            run.runStartStep = m.runStartStep;
            run.targetStep = m.targetStep;
            run.backend = m.backend;
            run.config = m.config;
            this.emit({ type: 'run-progress', run });
            break;
          case 'progress':
            run.progress = m;
            run.history.push({ step: m.step, lossD: m.lossD, lossG: m.lossG });
            if (run.history.length > 5000) run.history.splice(0, run.history.length - 5000);
            this.emit({ type: 'run-progress', run });
            break;
          case 'checkpoint':
            checkpoint = m;
            pending.push(
              this.considerCheckpoint(m)
                .then((g) => void (gate = g))
                .catch((err) => {
                  gate = `not activated: ${(err as Error).message}`;
                  log.error({ err, version: m.version }, 'could not activate the new checkpoint');
                }),
            );
            break;
          case 'done':
            done = m;
            break;
          case 'error':
            reportedError = m.message;
            break;
        }
      });
      child.on('error', (err) => resolve({ code: null, signal: null, spawnError: err }));
      // 'close' (not 'exit'): after the last IPC message and stderr chunk have arrived.
      child.on('close', (code, signal) => resolve({ code, signal }));
    });
    await Promise.allSettled(pending);

    const crashed = exit.spawnError || (exit.code !== 0 && !done) || (!!reportedError && !done);
    const status = crashed ? 'failed' : done?.stopped ? 'stopped' : 'succeeded';
    const error = crashed
      ? (reportedError ??
        exit.spawnError?.message ??
        `trainer exited with ${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}${stderrTail.length ? `: ${stderrTail.join('').trim().split('\n').slice(-3).join(' | ')}` : ''}`
      ).slice(0, 2000)
      : undefined;
    const last = run.progress;
    const summary = {
      steps: done?.steps ?? last?.runStepsDone ?? 0,
      lossD: done?.lossD ?? last?.lossD ?? null,
      lossG: done?.lossG ?? last?.lossG ?? null,
      freezeCount: done?.freezeCount ?? 0,
      imagesPerSecond: done?.imagesPerSecond ?? last?.imagesPerSecond ?? null,
      checkpointVersion: checkpoint?.version ?? null,
    };
    if (crashed) await failTrainingRun(store.db, row.id, error!, summary);
    else await finishTrainingRun(store.db, row.id, summary, status === 'stopped' ? 'stopped' : 'succeeded');
    this.last = {
      runId: row.id,
      status,
      trigger,
      startedAt: run.startedAt,
      endedAt: Date.now(),
      steps: done?.steps ?? last?.runStepsDone ?? 0,
      imagesPerSecond: done?.imagesPerSecond ?? last?.imagesPerSecond,
      lossD: done?.lossD ?? last?.lossD,
      lossG: done?.lossG ?? last?.lossG,
      freezeCount: done?.freezeCount,
      checkpointVersion: checkpoint?.version,
      gate,
      error,
    };
    if (crashed) log.error({ run: row.id, error }, 'training run failed (users unaffected)');
    else log.info({ run: row.id, status, steps: this.last.steps, checkpoint: checkpoint?.version, gate }, 'training run finished');
    this.emit({ type: 'run-finished', run: this.last });
  }

  /**
   * Quality gate + hot-swap for a checkpoint a run reported. Returns a short
   * description of the outcome.
   */
  private async considerCheckpoint(m: Extract<TrainerToBot, { type: 'checkpoint' }>): Promise<string> {
    const { store, log, config, generation } = this.opts;
    const previous = generation.active;
    let candidateMetrics: CheckpointMetrics = m.metrics ?? {};
    try {
      // The checkpoint's own file is authoritative (the trainer may evaluate after reporting).
      candidateMetrics = { ...candidateMetrics, ...(await readCheckpointMeta(config.MODELS_DIR, m.version)).metrics };
    } catch {
      /* keep what the message said */
    }
    const verdict = qualityVerdict(candidateMetrics, previous?.metrics, this.qualityMargin);
    await upsertCheckpoint(store.db, {
      version: m.version,
      step: m.step,
      kid: candidateMetrics.kid ?? null,
      fid: candidateMetrics.fid ?? null,
      sneakerShare: candidateMetrics.sneakerShare ?? null,
      status: verdict.accept ? 'candidate' : 'rejected',
      note: verdict.reason,
    });
    if (!verdict.accept) {
      // The trainer may have pointed the manifest at its result already: point it back.
      const manifest = await readManifest(config.MODELS_DIR).catch(() => undefined);
      if (previous && manifest?.active === m.version) await setActiveCheckpoint(config.MODELS_DIR, previous.version, { verify: false });
      const swap: SwapEvent = { version: m.version, previous: previous?.version, accepted: false, reason: verdict.reason };
      this.lastSwap = swap;
      log.warn({ version: m.version, reason: verdict.reason }, 'checkpoint rejected by the quality gate');
      this.emit({ type: 'swap', swap });
      return `rejected: ${verdict.reason}`;
    }
    await this.activate(m.version, verdict.reason);
    return `activated: ${verdict.reason}`;
  }

  /** Loads `version`, swaps it in (warm-up first), records it as active. */
  private async activate(version: string, reason: string): Promise<void> {
    const { config, generation, log } = this.opts;
    const previous = generation.active?.version;
    this.activating++;
    let loaded: Awaited<ReturnType<typeof loadGeneratorCheckpoint>>;
    try {
      loaded = await loadGeneratorCheckpoint(config.MODELS_DIR, version);
      try {
        await generation.swap(loaded);
      } catch (err) {
        loaded.model.dispose();
        throw err;
      }
      // An admin's rollback to a checkpoint the gate once rejected is a deliberate choice: the row
      // stops saying "rejected" BEFORE the manifest names it, so other processes follow it.
      const row = await this.opts.store.db.checkpoint.findUnique({ where: { version } });
      if (row?.status === 'rejected') await setCheckpointStatus(this.opts.store.db, version, 'candidate');
      await setActiveCheckpoint(config.MODELS_DIR, version, { verify: false });
    } finally {
      this.activating--;
    }
    await this.recordActive(loaded, reason);
    const swap: SwapEvent = { version, previous, accepted: true, reason };
    this.lastSwap = swap;
    log.info({ version, previous, reason }, 'hot-swapped to the new checkpoint');
    this.emit({ type: 'swap', swap });
  }

  /**
   * Rolls back to `version` (default: the newest usable checkpoint older than
   * the active one). Returns the version now active.
   */
  async rollback(version?: string): Promise<string> {
    const all = (await listCheckpoints(this.opts.config.MODELS_DIR)).filter((c) => !c.error);
    const active = this.opts.generation.active?.version;
    let target = version;
    if (!target) {
      const idx = all.findIndex((c) => c.version === active);
      const older = (idx >= 0 ? all.slice(0, idx) : all.filter((c) => c.version !== active)).reverse();
      target = older[0]?.version;
      if (!target) throw new Error('there is no earlier checkpoint to roll back to');
    } else if (!all.some((c) => c.version === target)) {
      throw new Error(`no usable checkpoint named ${target}`);
    }
    if (target === active) return target;
    await this.activate(target, 'rollback by an admin');
    return target;
  }

  /** Checkpoints on disk with their quality figures and statuses (for /train status). */
  async checkpoints(): Promise<(CheckpointSummary & { status: string; note?: string | null })[]> {
    return checkpointStatuses(this.opts.config.MODELS_DIR, this.opts.store.db, this.opts.generation.active?.version);
  }

  /** Asks the running trainer to stop at the next step and checkpoint. */
  requestStop(): boolean {
    if (!this.child || this.stateValue !== 'running') return false;
    this.stateValue = 'stopping';
    const msg: BotToTrainer = { type: 'stop' };
    try {
      this.child.send(msg);
    } catch {
      this.child.kill('SIGTERM');
    }
    return true;
  }

  /**
   * Shutdown: no more scheduled runs; a running trainer is asked to stop and
   * write its checkpoint, and killed if it takes longer than stopTimeoutMs.
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

/**
 * Checkpoints on disk with their quality figures and statuses as seen by a process serving
 * `served` (any bot process can list them: MODELS_DIR and the database are shared).
 */
export async function checkpointStatuses(
  modelsDir: string,
  db: PrismaClient,
  served: string | undefined,
): Promise<(CheckpointSummary & { status: string; note?: string | null })[]> {
  const list = await listCheckpoints(modelsDir);
  const rows = await db.checkpoint.findMany();
  const byVersion = new Map(rows.map((r) => [r.version, r]));
  return list.map((c) => {
    const row = byVersion.get(c.version);
    const status = c.version === served ? 'active' : (row?.status === 'active' ? 'retired' : row?.status) ?? (c.error ? 'unusable' : 'candidate');
    return { ...c, status, note: row?.note };
  });
}
