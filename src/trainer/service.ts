/**
 * The trainer service: the one process (among bots, shard manager and trainer machines sharing a
 * database) that holds the trainer lease runs the scheduled trainer. It
 *  - contends for the lease (src/trainer/lease.ts) every heartbeat until it holds it;
 *  - while holding: runs TrainerRunner (cron, forked trainer child, quality gate, publishing to
 *    MODELS_DIR/manifest.json), heartbeats with a snapshot of its state (every heartbeat and soon
 *    after every change), and executes admins' requests queued by other processes (every ~2 s);
 *  - if it loses the lease (it was silent for too long and another process took over): stops
 *    scheduling, stops a run in progress, and contends again;
 *  - on stop(): lets a run write its checkpoint (heartbeating meanwhile), then releases the lease.
 *
 * In a bot it hot-swaps the bot's own GenerationService; in a process that serves nobody
 * (`npm run trainer`, the shard manager) a PublishedModel stands in (see served.ts). The contract for
 * other engineers is in /work/team/trainer-service.md.
 */
import type { Logger } from 'pino';
import { MAX_TRAIN_STEPS, type Config } from '../config/env.ts';
import { openDatabase, type PrismaClient } from '../db/client.ts';
import { claimTrainerRequest, finishTrainerRequest, pendingTrainerRequests, pruneTrainerRequests, type RequestOutcome, type TrainerRequest } from '../db/trainer-lease.ts';
import { backendInfo, initTf } from '../tf/index.ts';
import { Store } from '../bot/store.ts';
import { TrainerRunner, type ServedModel, type TrainerRunnerOptions } from '../bot/trainer-runner.ts';
import { watchManifest, type ManifestWatcher } from '../bot/manifest-watch.ts';
import { LeaseKeeper } from './lease.ts';
import { TrainerRemote } from './remote.ts';
import { buildSnapshot, SNAPSHOT_HISTORY_POINTS, type TrainerSnapshot } from './snapshot.ts';
import { chooseServedCheckpoint, gateRefusal, PublishedModel } from './served.ts';

/** Requests older than this are refused, not executed (an admin would not expect a run hours later). */
export const REQUEST_MAX_AGE_MS = 10 * 60_000;

export interface TrainerServiceOptions {
  config: Config;
  log: Logger;
  /** An open database (shared by every process of this shoebot). */
  db: PrismaClient;
  /** Default: new Store(db). */
  store?: Store;
  /** What to hot-swap (the bot's GenerationService). Default: a PublishedModel (serves nobody). */
  generation?: ServedModel;
  /** Runner options (args for the trainer child, entry, env, stopTimeoutMs, schedule...). */
  runner?: Partial<TrainerRunnerOptions>;
  /** Default TRAINER_HEARTBEAT_SECONDS. Staleness (takeover) after 3 heartbeats without change. */
  heartbeatMs?: number;
  /** How often the holder looks for queued requests (default 2000 ms). */
  requestPollMs?: number;
  /** Follow manifest.json changes made by others (default: only without `generation`; a bot has its own watcher). */
  watchManifest?: boolean | { debounceMs?: number; pollMs?: number };
  /** Default os.hostname(). */
  host?: string;
}

/** What an admin is told when a run starts (locally or through a request). */
export function runStartedMessage(steps: number, from: string | undefined, host?: string): string {
  return `Training started (${steps} steps, continuing from \`${from ?? 'scratch'}\`)${host ? ` on the trainer at \`${host}\`` : ''}. Follow it with \`/train status\`.`;
}
export const STOPPING_MESSAGE = 'Stopping: the trainer finishes its step and writes a checkpoint.';
export const NO_RUN_MESSAGE = 'No training run is going.';

export class TrainerService {
  readonly runner: TrainerRunner;
  readonly remote: TrainerRemote;
  readonly lease: LeaseKeeper;
  readonly heartbeatMs: number;
  private readonly store: Store;
  private readonly published?: PublishedModel;
  private watcher?: ManifestWatcher;
  private timer?: NodeJS.Timeout;
  private requestTimer?: NodeJS.Timeout;
  private publishTimer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private handling?: Promise<void>;
  private started = false;
  private stopping = false;
  private stopped?: Promise<void>;
  private holdingWaiters: (() => void)[] = [];
  private waitingFor = '';
  private offListener?: () => void;
  private lastPrune = 0;

  constructor(private readonly opts: TrainerServiceOptions) {
    const { config } = opts;
    if (config.TRAINER_MODE === 'off') throw new Error('TRAINER_MODE is off: this process must not run the trainer (do not start the trainer service)');
    this.heartbeatMs = opts.heartbeatMs ?? config.TRAINER_HEARTBEAT_SECONDS * 1000;
    this.store = opts.store ?? new Store(opts.db);
    if (!opts.generation) this.published = new PublishedModel();
    this.lease = new LeaseKeeper({ db: opts.db, log: opts.log, heartbeatMs: this.heartbeatMs, ...(opts.host ? { host: opts.host } : {}) });
    this.remote = new TrainerRemote(opts.db, { staleAfterMs: this.lease.staleAfterMs });
    this.runner = new TrainerRunner({
      config,
      store: this.store,
      generation: opts.generation ?? this.published!,
      qualityMargin: config.QUALITY_MARGIN,
      log: opts.log,
      ...opts.runner,
      guard: () => (this.lease.holding && !this.stopping ? undefined : this.stopping ? 'the trainer is shutting down' : 'this process does not hold the trainer lease'),
    });
  }

  /** This process holds the lease (it is the trainer) right now. */
  get holding(): boolean {
    return this.lease.holding;
  }
  get ownerId(): string {
    return this.lease.ownerId;
  }
  get host(): string {
    return this.lease.host;
  }
  get mode(): string {
    return this.opts.config.TRAINER_MODE;
  }

  /**
   * Loads what this process serves (when it serves nobody: the manifest's checkpoint, verified,
   * with the bot's fallback rule), makes the first attempt at the lease and starts the loops.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { config, log } = this.opts;
    if (this.published) {
      await initTf(config.TF_BACKEND);
      const choice = await chooseServedCheckpoint(config.MODELS_DIR, this.opts.db, log);
      if (choice.generator) await this.published.swap(choice.generator);
      else log.info({ reason: choice.reason }, 'no checkpoint to continue from yet: the first run trains from scratch');
    }
    const watch = this.opts.watchManifest ?? !!this.published;
    if (watch) {
      this.watcher = watchManifest({
        modelsDir: config.MODELS_DIR,
        generation: this.runner.servedModel,
        log,
        isBusy: () => this.runner.busy,
        gate: (version, manifest) => gateRefusal(this.opts.db, version, manifest.updatedAt),
        onSwap: (e) => (this.holding ? this.runner.recordExternalActivation(e.version, e.previous) : undefined),
        ...(typeof watch === 'object' ? watch : {}),
      });
    }
    this.offListener = this.runner.on(() => this.publishSoon());
    await this.tick();
    this.scheduleTick();
  }

  /** Resolves once this process holds the lease. */
  whenHolding(): Promise<void> {
    if (this.holding) return Promise.resolve();
    return new Promise((r) => this.holdingWaiters.push(r));
  }

  /** The runner's state as /train status shows it (full loss history unless `historyPoints`). */
  snapshot(opts: { historyPoints?: number; state?: TrainerSnapshot['state'] } = {}): TrainerSnapshot {
    const b = backendInfo();
    return buildSnapshot(
      this.runner,
      {
        host: this.host,
        ownerId: this.ownerId,
        mode: this.mode,
        heartbeatMs: this.heartbeatMs,
        cron: this.opts.config.TRAIN_CRON,
        ...(b ? { backend: { label: b.label, reason: b.reason } } : {}),
      },
      opts,
    );
  }

  private published_(): string {
    return JSON.stringify(this.snapshot({ historyPoints: SNAPSHOT_HISTORY_POINTS }));
  }

  private scheduleTick(): void {
    if (this.stopped && !this.stopping) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined;
        if (this.timer) this.scheduleTick();
      });
    }, this.heartbeatMs);
    this.timer.unref();
  }

  /** One heartbeat (holding) or one attempt at the lease (not holding). Never throws. */
  private async tick(): Promise<void> {
    const { log, config } = this.opts;
    try {
      if (this.lease.holding) {
        if (!(await this.lease.heartbeat(this.published_()))) await this.lost();
        return;
      }
      if (this.stopping) return;
      const r = await this.lease.tryAcquire(this.published_());
      if (r.holding) {
        await this.acquired(r.how);
        return;
      }
      const who = `${r.holder.ownerId}`;
      if (who !== this.waitingFor) {
        this.waitingFor = who;
        const msg = `the trainer lease is held by ${r.holder.ownerId} (host ${r.holder.ownerHost}): following it (this process trains if that one stops heartbeating)`;
        if (config.TRAINER_MODE === 'local') log.warn({ holder: r.holder.ownerId }, `TRAINER_MODE=local but ${msg}`);
        else log.info({ holder: r.holder.ownerId }, msg);
      }
    } catch (err) {
      log.warn({ err }, 'trainer lease: database error (retrying at the next heartbeat)');
    }
  }

  private async acquired(how: string): Promise<void> {
    const { log } = this.opts;
    this.waitingFor = '';
    log.info({ ownerId: this.ownerId, how, cron: this.opts.config.TRAIN_CRON }, 'holding the trainer lease: this process runs the scheduled trainer');
    this.runner.start();
    for (const w of this.holdingWaiters.splice(0)) w();
    this.pollRequestsSoon(0);
    this.publishSoon();
  }

  private async lost(): Promise<void> {
    const { log } = this.opts;
    log.error({ ownerId: this.ownerId }, 'lost the trainer lease (another process took it over after missed heartbeats): stopping scheduled training here');
    clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
    await this.runner.unschedule();
    this.runner.requestStop();
  }

  /** Publishes the snapshot soon after a change (at most about once per second). */
  private publishSoon(): void {
    if (this.publishTimer || !this.lease.holding) return;
    this.publishTimer = setTimeout(() => {
      this.publishTimer = undefined;
      if (!this.lease.holding) return;
      this.lease.heartbeat(this.published_()).then(
        (ok) => (ok ? undefined : this.lost()),
        (err) => this.opts.log.warn({ err }, 'could not publish the trainer snapshot'),
      );
    }, 1000);
    this.publishTimer.unref();
  }

  private pollRequestsSoon(delay = this.opts.requestPollMs ?? 2000): void {
    if (this.stopped || !this.lease.holding) return;
    clearTimeout(this.requestTimer);
    this.requestTimer = setTimeout(() => {
      this.handling = this.handleRequests().finally(() => {
        this.handling = undefined;
        this.pollRequestsSoon();
      });
    }, delay);
    this.requestTimer.unref();
  }

  private async handleRequests(): Promise<void> {
    const { db, log } = this.opts;
    try {
      if (Date.now() - this.lastPrune > 3_600_000) {
        this.lastPrune = Date.now();
        await pruneTrainerRequests(db, new Date(Date.now() - 7 * 86_400_000));
      }
      for (const req of await pendingTrainerRequests(db)) {
        if (!this.lease.holding || this.stopping) return;
        if (!(await claimTrainerRequest(db, req.id, new Date()))) continue;
        let outcome: { outcome: RequestOutcome; message: string };
        try {
          outcome = await this.execute(req);
        } catch (err) {
          outcome = { outcome: 'failed', message: (err as Error).message };
        }
        log.info({ request: req.id, action: req.action, argument: req.argument, by: req.requestedBy, ...outcome }, 'executed a trainer request');
        await finishTrainerRequest(db, req.id, outcome.outcome, outcome.message);
      }
    } catch (err) {
      log.warn({ err }, 'could not handle trainer requests (retrying)');
    }
  }

  /** Carries out one queued /train run|stop|rollback; the message is what the admin reads. */
  private async execute(req: TrainerRequest): Promise<{ outcome: RequestOutcome; message: string }> {
    if (Date.now() - req.createdAt.getTime() > REQUEST_MAX_AGE_MS) {
      return { outcome: 'refused', message: `Not executed: the request waited more than ${REQUEST_MAX_AGE_MS / 60_000} minutes for a trainer.` };
    }
    switch (req.action) {
      case 'run': {
        const steps = req.argument ? Number(req.argument) : this.opts.config.TRAIN_STEPS;
        if (!Number.isInteger(steps) || steps < 1 || steps > MAX_TRAIN_STEPS) return { outcome: 'refused', message: `Not started: steps must be 1-${MAX_TRAIN_STEPS}.` };
        const from = this.runner.servedModel.active?.version;
        const r = await this.runner.startRun('admin', steps);
        if (!r.started) return { outcome: 'refused', message: `Not started: ${r.reason}.${r.noDataset ? '' : ' See `/train status`.'}` };
        return { outcome: 'done', message: runStartedMessage(steps, from, this.host) };
      }
      case 'stop':
        return this.runner.requestStop() ? { outcome: 'done', message: STOPPING_MESSAGE } : { outcome: 'refused', message: NO_RUN_MESSAGE };
      case 'rollback': {
        try {
          const now = await this.runner.rollback(req.argument ?? undefined);
          return { outcome: 'done', message: `Active checkpoint is now \`${now}\`.` };
        } catch (err) {
          return { outcome: 'failed', message: `Rollback failed: ${(err as Error).message}` };
        }
      }
      default:
        return { outcome: 'refused', message: `Unknown trainer request "${req.action}".` };
    }
  }

  /**
   * Graceful shutdown: no new runs; a run in progress writes its checkpoint (heartbeats continue
   * meanwhile, so nobody takes over a live trainer); then the lease is released with a final
   * snapshot, so another process can take it at once. Safe to call twice.
   */
  stop(): Promise<void> {
    return (this.stopped ??= (async () => {
      this.stopping = true;
      this.watcher?.close();
      await this.runner.stop();
      clearTimeout(this.timer);
      this.timer = undefined;
      clearTimeout(this.requestTimer);
      clearTimeout(this.publishTimer);
      this.publishTimer = undefined;
      await this.ticking;
      await this.handling;
      this.offListener?.();
      try {
        await this.lease.release(JSON.stringify(this.snapshot({ historyPoints: SNAPSHOT_HISTORY_POINTS, state: 'offline' })));
      } catch (err) {
        this.opts.log.warn({ err }, 'could not release the trainer lease (it is taken over after staleness)');
      }
      this.stopping = false;
    })());
  }
}

export interface StartTrainerServiceOptions extends Omit<TrainerServiceOptions, 'db'> {
  /** Default: openDatabase(config.DATABASE_URL), closed by stop(). */
  db?: PrismaClient;
}

export interface TrainerServiceHandle {
  readonly service: TrainerService;
  readonly runner: TrainerRunner;
  readonly holding: boolean;
  readonly ownerId: string;
  whenHolding(): Promise<void>;
  /** Graceful: checkpoint, release the lease, close the database if this call opened it. */
  stop(): Promise<void>;
}

/**
 * Starts the trainer service in a process that serves no generator (the shard manager, the
 * standalone `npm run trainer`). Throws with TRAINER_MODE=off.
 */
export async function startTrainerService(opts: StartTrainerServiceOptions): Promise<TrainerServiceHandle> {
  const ownsDb = !opts.db;
  const db = opts.db ?? (await openDatabase(opts.config.DATABASE_URL));
  let service: TrainerService;
  try {
    service = new TrainerService({ ...opts, db });
    await service.start();
  } catch (err) {
    if (ownsDb) await db.$disconnect();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    service,
    runner: service.runner,
    get holding() {
      return service.holding;
    },
    ownerId: service.ownerId,
    whenHolding: () => service.whenHolding(),
    stop: () =>
      (stopping ??= (async () => {
        await service.stop();
        if (ownsDb) await db.$disconnect();
      })()),
  };
}
