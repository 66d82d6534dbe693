/**
 * The shard processes of one discord.js ShardingManager, from spawn to stop (shard-manager.ts
 * decides which shards and starts this).
 *
 * - Shards start one after another: each waits for the previous one to be ready plus
 *   SHARD_SPAWN_DELAY_MS (Discord's IDENTIFY rate limit).
 * - A dead shard is respawned with a growing delay (1 s doubling to 60 s, reset once a shard has
 *   run for a minute) instead of at once, so a shard that cannot start does not fork-loop the
 *   machine (discord.js's own respawn is off).
 * - Stopping asks each shard over IPC to shut down gracefully (interactions in flight finish) and
 *   waits for it; a signal that also reached the shards (Ctrl-C reaches the whole process group)
 *   is not counted twice by them.
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Shard, ShardingManager } from 'discord.js';
import type { Logger } from 'pino';

/** The IPC message that asks a shard (src/bin/bot.ts) to shut down gracefully. */
export const SHARD_STOP_MESSAGE = { type: 'shoebot:stop' } as const;

export interface ShardSupervisorOptions {
  manager: ShardingManager;
  /** The shard ids to run, in spawn order. */
  ids: number[];
  log: Logger;
  /** When the start-up began (performance.now()): `ready` reports the time since. */
  startedAt: number;
  /** Pause between a shard becoming ready and the next one starting (SHARD_SPAWN_DELAY_MS). */
  spawnDelayMs: number;
  /** How long a shard may take from fork to ready before it is reported. */
  readyTimeoutMs: number;
  /** Respawn delay after a shard died: first and longest. */
  respawnDelayMs: { min: number; max: number };
  /** How long a stopping shard may take before it is killed. */
  stopTimeoutMs: number;
  /** Extra environment for shard processes. */
  shardEnv?: Record<string, string>;
}

/** What is remembered of one shard across its processes. */
interface ShardState {
  respawns: number;
  /** The delay before the next respawn (doubles while the shard keeps dying young). */
  delay: number;
  spawnedAt: number;
  /** The current process has been ready, so it listens for SHARD_STOP_MESSAGE. */
  readyOnce: boolean;
  timer?: NodeJS.Timeout;
}

/** Spawns, watches, respawns and stops the shards of one manager. */
export class ShardSupervisor {
  /** Resolves when every shard has been ready once; rejects only if stop() came first. */
  readonly ready: Promise<{ startupMs: number }>;
  private resolveReady!: (v: { startupMs: number }) => void;
  private rejectReady!: (e: Error) => void;
  private readonly states = new Map<number, ShardState>();
  private readonly everReady = new Set<number>();
  private stopping = false;

  constructor(private readonly opts: ShardSupervisorOptions) {
    this.ready = new Promise<{ startupMs: number }>((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    this.ready.catch(() => undefined);
  }

  /** Starts spawning the shards one after another in the background; returns at once (`ready` tells when all are up). */
  spawnAll(): void {
    const { manager, ids, spawnDelayMs } = this.opts;
    void (async () => {
      for (const [i, id] of ids.entries()) {
        if (this.stopping) break;
        const shard = manager.createShard(id);
        this.watch(shard);
        await this.spawn(shard);
        if (i < ids.length - 1 && spawnDelayMs > 0 && !this.stopping) await sleep(spawnDelayMs);
      }
    })();
  }

  /** Stops every shard gracefully, in parallel (no more respawns); resolves when all have exited. Call once. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.rejectReady(new Error('stopped before all shards were ready'));
    for (const s of this.states.values()) clearTimeout(s.timer);
    await Promise.all([...this.opts.manager.shards.values()].map((shard) => this.stopShard(shard)));
  }

  private async spawn(shard: Shard): Promise<void> {
    const s = this.states.get(shard.id)!;
    s.spawnedAt = Date.now();
    s.readyOnce = false;
    try {
      await shard.spawn(this.opts.readyTimeoutMs);
    } catch (err) {
      // Died before ready (then 'death' respawns it) or not ready in time (it may still get there).
      if (!this.stopping)
        this.opts.log.error({ shard: shard.id, err: (err as Error).message }, 'shard did not become ready');
    }
  }

  /** Prepares a new shard's environment and listens to its events. */
  private watch(shard: Shard): void {
    const { log } = this.opts;
    this.states.set(shard.id, {
      respawns: 0,
      delay: this.opts.respawnDelayMs.min,
      spawnedAt: Date.now(),
      readyOnce: false,
    });
    // The environment discord.js prepared for this shard (SHARDS, SHARD_COUNT, token): shards never train.
    Object.assign(shard.env as Record<string, string>, { TRAINER_MODE: 'off', ...this.opts.shardEnv });
    shard.on('spawn', (child) =>
      log.info({ shard: shard.id, shardPid: (child as ChildProcess).pid }, 'shard process started'),
    );
    shard.on('ready', () => this.onReady(shard));
    shard.on('disconnect', () => log.warn({ shard: shard.id }, 'shard disconnected from the gateway'));
    shard.on('reconnecting', () => log.info({ shard: shard.id }, 'shard reconnecting to the gateway'));
    shard.on('resume', () => log.info({ shard: shard.id }, 'shard resumed'));
    // Without a listener an 'error' event would throw and take the manager down.
    shard.on('error', (err: Error) => log.error({ shard: shard.id, err: err.message }, 'shard error'));
    shard.on('death', (p) => this.onDeath(shard, p as ChildProcess));
  }

  private onReady(shard: Shard): void {
    const { log, ids } = this.opts;
    const first = !this.everReady.has(shard.id);
    this.everReady.add(shard.id);
    const s = this.states.get(shard.id)!;
    s.readyOnce = true;
    log.info(
      { shard: shard.id, shardPid: shard.process?.pid, ms: Math.round(Date.now() - s.spawnedAt) },
      'shard ready',
    );
    if (first && this.everReady.size === ids.length) {
      const startupMs = Math.round(performance.now() - this.opts.startedAt);
      log.info({ shards: ids.length, startupMs }, 'all shards ready');
      this.resolveReady({ startupMs });
    }
  }

  /** Schedules the respawn of a dead shard after its current delay, and doubles the delay. */
  private onDeath(shard: Shard, child: ChildProcess): void {
    if (this.stopping) return;
    const { respawnDelayMs: backoff } = this.opts;
    const s = this.states.get(shard.id)!;
    // A shard that ran for a while died of something new: start again quickly.
    if (Date.now() - s.spawnedAt > 60_000) s.delay = backoff.min;
    const delay = s.delay;
    s.delay = Math.min(backoff.max, s.delay * 2);
    this.opts.log.warn(
      {
        shard: shard.id,
        shardPid: child?.pid,
        exitCode: child?.exitCode,
        signal: child?.signalCode,
        respawnInMs: delay,
        respawnsSoFar: s.respawns,
      },
      'shard process died; respawning',
    );
    s.timer = setTimeout(() => {
      s.timer = undefined;
      if (this.stopping || shard.process) return;
      s.respawns++;
      void this.spawn(shard);
    }, delay);
  }

  private async stopShard(shard: Shard): Promise<void> {
    const { log, stopTimeoutMs } = this.opts;
    const child = shard.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    // Over IPC (see module comment); a shard still starting up has no IPC handler yet and nothing
    // in flight, so it gets SIGTERM, as does one whose channel is gone.
    if (child.connected && this.states.get(shard.id)?.readyOnce)
      child.send(SHARD_STOP_MESSAGE, (err) => err && child.kill('SIGTERM'));
    else child.kill('SIGTERM');
    const timer = setTimeout(() => {
      log.warn({ shard: shard.id, shardPid: child.pid }, `shard did not stop within ${stopTimeoutMs} ms; killing it`);
      child.kill('SIGKILL');
    }, stopTimeoutMs);
    await exited;
    clearTimeout(timer);
    log.info({ shard: shard.id, exitCode: child.exitCode, signal: child.signalCode }, 'shard stopped');
  }
}
