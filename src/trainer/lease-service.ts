/**
 * The lease service: the one process (among bots, shard manager and trainer machines sharing a
 * database) that holds the trainer lease runs the scheduler. It
 *  - contends for the lease (lease.ts) every heartbeat until it holds it;
 *  - while holding: runs the TrainingScheduler (cron, forked trainer child, quality gate, publishing
 *    to MODELS_DIR/manifest.json), heartbeats with a snapshot of its state (every heartbeat and soon
 *    after every change), and executes admins' requests queued by other processes (every ~2 s);
 *  - if it loses the lease (it was silent for too long and another process took over): stops
 *    scheduling, stops a run in progress, and contends again;
 *  - on stop(): lets a run write its checkpoint (heartbeating meanwhile), then releases the lease.
 *
 * In a bot it hot-swaps the bot's own GenerationService; in a process that serves nobody
 * (`npm run trainer`, the shard manager) a PublishedModel stands in (see served.ts). Other
 * processes see the holder through the TrainerLease row (its snapshot) and reach it with
 * TrainerRequest rows (remote.ts, requests.ts).
 */
import type { Logger } from 'pino';
import type { Config } from '../config/env.ts';
import type { PrismaClient } from '../db/client.ts';
import { backendInfo, initTf } from '../tf/index.ts';
import { LeaseKeeper } from './lease.ts';
import { LocalTraining } from './local.ts';
import { watchManifest, type ManifestWatcher } from './manifest-watch.ts';
import { gateRefusal } from './quality-gate.ts';
import { RemoteTraining } from './remote.ts';
import { RequestExecutor } from './requests.ts';
import { TrainingScheduler, type SchedulerOptions } from './scheduler.ts';
import { chooseServedCheckpoint, PublishedModel, type ServedModel } from './served.ts';
import { buildSnapshot, SNAPSHOT_HISTORY_POINTS, type TrainerSnapshot } from './snapshot.ts';

export interface LeaseServiceOptions {
  config: Config;
  log: Logger;
  /** An open database (shared by every process of this shoebot). */
  db: PrismaClient;
  /** What to hot-swap (the bot's GenerationService). Default: a PublishedModel (serves nobody). */
  generation?: ServedModel;
  /** Scheduler options (args for the trainer child, entry, env, stopTimeoutMs, schedule...). */
  scheduler?: Partial<SchedulerOptions>;
  /** Default TRAINER_HEARTBEAT_SECONDS. Staleness (takeover) after 3 heartbeats without change. */
  heartbeatMs?: number;
  /** How often the holder looks for queued requests (default 2000 ms). */
  requestPollMs?: number;
  /** Follow manifest.json changes made by others (default: only without `generation`; a bot has its own watcher). */
  watchManifest?: boolean | { debounceMs?: number; pollMs?: number };
  /** Default os.hostname(). */
  host?: string;
}

export class LeaseService {
  readonly scheduler: TrainingScheduler;
  /** /train here while this process holds the lease; also carries out others' requests. */
  readonly local: LocalTraining;
  /** /train here while another process holds the lease. */
  readonly remote: RemoteTraining;
  readonly lease: LeaseKeeper;
  readonly heartbeatMs: number;
  private readonly requests: RequestExecutor;
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

  constructor(private readonly opts: LeaseServiceOptions) {
    const { config } = opts;
    if (config.TRAINER_MODE === 'off')
      throw new Error('TRAINER_MODE is off: this process must not run the trainer (do not start the trainer service)');
    this.heartbeatMs = opts.heartbeatMs ?? config.TRAINER_HEARTBEAT_SECONDS * 1000;
    if (!opts.generation) this.published = new PublishedModel();
    this.lease = new LeaseKeeper({
      db: opts.db,
      log: opts.log,
      heartbeatMs: this.heartbeatMs,
      ...(opts.host ? { host: opts.host } : {}),
    });
    this.remote = new RemoteTraining(opts.db, { staleAfterMs: this.lease.staleAfterMs });
    this.scheduler = new TrainingScheduler({
      config,
      db: opts.db,
      generation: opts.generation ?? this.published!,
      qualityMargin: config.QUALITY_MARGIN,
      log: opts.log,
      ...opts.scheduler,
      guard: () =>
        this.lease.holding && !this.stopping
          ? undefined
          : this.stopping
            ? 'the trainer is shutting down'
            : 'this process does not hold the trainer lease',
    });
    this.local = new LocalTraining({
      scheduler: this.scheduler,
      config,
      source: () => ({ host: this.host, ownerId: this.ownerId }),
    });
    this.requests = new RequestExecutor({
      db: opts.db,
      log: opts.log,
      training: new LocalTraining({ scheduler: this.scheduler, config, announceHost: this.host }),
      defaultSteps: config.TRAIN_STEPS,
      mayExecute: () => this.lease.holding && !this.stopping,
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
        generation: this.scheduler.servedModel,
        log,
        isBusy: () => this.scheduler.busy,
        gate: (version, manifest) => gateRefusal(this.opts.db, version, manifest.updatedAt),
        onSwap: (e) => (this.holding ? this.scheduler.recordExternalActivation(e.version, e.previous) : undefined),
        ...(typeof watch === 'object' ? watch : {}),
      });
    }
    this.offListener = this.scheduler.on(() => this.publishSoon());
    await this.tick();
    this.scheduleTick();
  }

  /** Resolves once this process holds the lease. */
  whenHolding(): Promise<void> {
    if (this.holding) return Promise.resolve();
    return new Promise((r) => this.holdingWaiters.push(r));
  }

  /** The scheduler's state as /train status shows it (full loss history unless `historyPoints`). */
  snapshot(opts: { historyPoints?: number; state?: TrainerSnapshot['state'] } = {}): TrainerSnapshot {
    const b = backendInfo();
    return buildSnapshot(
      this.scheduler,
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
    log.info(
      { ownerId: this.ownerId, how, cron: this.opts.config.TRAIN_CRON },
      'holding the trainer lease: this process runs the scheduled trainer',
    );
    this.scheduler.start();
    for (const w of this.holdingWaiters.splice(0)) w();
    this.pollRequestsSoon(0);
    this.publishSoon();
  }

  private async lost(): Promise<void> {
    const { log } = this.opts;
    log.error(
      { ownerId: this.ownerId },
      'lost the trainer lease (another process took it over after missed heartbeats): stopping scheduled training here',
    );
    clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
    await this.scheduler.unschedule();
    this.scheduler.requestStop();
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
      this.handling = this.requests.handlePending().finally(() => {
        this.handling = undefined;
        this.pollRequestsSoon();
      });
    }, delay);
    this.requestTimer.unref();
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
      await this.scheduler.stop();
      clearTimeout(this.timer);
      this.timer = undefined;
      clearTimeout(this.requestTimer);
      clearTimeout(this.publishTimer);
      this.publishTimer = undefined;
      await this.ticking;
      await this.handling;
      this.offListener?.();
      try {
        await this.lease.release(
          JSON.stringify(this.snapshot({ historyPoints: SNAPSHOT_HISTORY_POINTS, state: 'offline' })),
        );
      } catch (err) {
        this.opts.log.warn({ err }, 'could not release the trainer lease (it is taken over after staleness)');
      }
      this.stopping = false;
    })());
  }
}
