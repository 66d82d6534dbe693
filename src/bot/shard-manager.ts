/**
 * `npm run start:shards`: discord.js's ShardingManager for bots in many guilds.
 *
 * The manager process spawns one child process per shard; each child is the
 * normal bot (src/bin/bot.ts) with its own generator copy, the same
 * DATABASE_URL and MODELS_DIR, discord.js telling it its shard through
 * SHARDS/SHARD_COUNT. Shards run with TRAINER_MODE=off: the scheduled
 * trainer runs once, in this process (src/trainer/service.ts), and publishes
 * checkpoints through MODELS_DIR/manifest.json, which every shard follows.
 * Shard 0 registers the slash commands (bot.ts), once, not once per shard.
 * On several machines each runs some of the shards (SHARD_IDS, with the same
 * numeric SHARD_COUNT everywhere) against one PostgreSQL database; the
 * trainer lease makes one of the managers the trainer.
 *
 * This process stays small: it never loads TensorFlow.js or a generator
 * itself (only the trainer service may, and only when TRAINER_MODE is not off).
 *
 * Differences from discord.js's defaults, and why:
 * - The shard count for `auto` comes from DISCORD_API_BASE (discord.js's own
 *   fetchRecommendedShardCount always asks discord.com).
 * - Shards run TypeScript: they are forked with `--import tsx`.
 * - A dead shard is respawned with a growing delay (1 s doubling to 60 s,
 *   reset once a shard has run for a minute) instead of at once, so a shard
 *   that cannot start does not fork-loop the machine.
 * - Stopping asks each shard over IPC to shut down gracefully (interactions
 *   in flight finish) and waits for it; a signal that also reached the shards
 *   (Ctrl-C reaches the whole process group) is not counted twice by them.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ShardingManager, type Shard } from 'discord.js';
import type { Logger } from 'pino';
import type { Config } from '../config/env.ts';
import { log as rootLog, registerSecret } from '../log.ts';
import { parseDatabaseUrl } from '../db/paths.ts';
import { connectPg } from '../db/pg.ts';

/** The IPC message that asks a shard (src/bin/bot.ts) to shut down gracefully. */
export const SHARD_STOP_MESSAGE = { type: 'shoebot:stop' } as const;

export interface ShardManagerOptions {
  config: Config;
  /** Parent logger (default the root): lines get part=shard-manager / part=trainer. */
  log?: Logger;
  /** The shard script (default src/bin/bot.ts). */
  file?: string;
  /** Node options for shard processes (default: `--import tsx`). */
  execArgv?: string[];
  /** Extra environment for shard processes. */
  shardEnv?: Record<string, string>;
  /** How long a shard may take from fork to ready before it is reported (default 120 s). */
  readyTimeoutMs?: number;
  /** Respawn delay after a shard died: first and longest (default 1 s and 60 s). */
  respawnDelayMs?: { min: number; max: number };
  /** How long a stopping shard may take before it is killed (default 30 s; a shard drains for up to 20 s). */
  stopTimeoutMs?: number;
  /** Run the trainer service here (default: unless TRAINER_MODE is off). */
  trainer?: boolean;
}

/** The trainer service handle as far as the manager needs it (see /work/team/trainer-service.md). */
interface TrainerLike {
  readonly holding: boolean;
  readonly ownerId: string;
  stop(): Promise<void>;
}

export interface ShardManagerHandle {
  manager: ShardingManager;
  /** Total shards (resolved from `auto`). */
  count: number;
  /** The shard ids this manager runs (SHARD_IDS, default all). */
  ids: number[];
  /** Resolves when every shard has been ready once; rejects only if stop() came first. */
  ready: Promise<{ startupMs: number }>;
  /** The trainer service running in this process, if any. */
  trainer?: TrainerLike;
  /** Resident memory of this process and of each shard process, in bytes (asked over IPC). */
  memory(): Promise<{ manager: number; shards: { id: number; rss: number | null }[] }>;
  /** Stops the shards gracefully (in parallel), then the trainer. Safe to call twice. */
  stop(): Promise<void>;
}

/** Thrown for problems the operator must fix (token, network); main prints its message as one line. */
export class ShardStartError extends Error {
  override name = 'ShardStartError';
}

/**
 * The shard count Discord recommends for this bot (GET /gateway/bot `shards`),
 * asked at `apiBase` (DISCORD_API_BASE, so a test or proxy host works).
 */
export async function recommendedShardCount(apiBase: string, token: string): Promise<number> {
  let res: Response;
  try {
    res = await fetch(`${apiBase}/v10/gateway/bot`, { headers: { authorization: `Bot ${token}` }, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? 'no answer within 30 s' : (e.cause?.code ?? e.message);
    throw new ShardStartError(`cannot reach Discord at ${apiBase} (${why}): check the network or DISCORD_API_BASE.`);
  }
  if (res.status === 401) throw new ShardStartError('Discord refused the token: check DISCORD_TOKEN (Bot -> Reset Token in the developer portal).');
  if (!res.ok) throw new ShardStartError(`Discord answered ${res.status} to GET /gateway/bot; set SHARD_COUNT to a number to skip this question.`);
  const body = (await res.json()) as { shards?: unknown };
  const n = Number(body.shards);
  if (!Number.isInteger(n) || n < 1) throw new ShardStartError('Discord did not recommend a shard count; set SHARD_COUNT to a number.');
  return n;
}

/**
 * Starts the trainer service (unless disabled), then spawns every shard one
 * after another (each waits for the previous to be ready plus
 * SHARD_SPAWN_DELAY_MS, Discord's IDENTIFY rate limit). Returns at once with
 * `ready` to await.
 */
export async function startShardManager(opts: ShardManagerOptions): Promise<ShardManagerHandle> {
  const { config } = opts;
  const base = opts.log ?? rootLog();
  const log = base.child({ part: 'shard-manager' });
  const token = config.DISCORD_TOKEN;
  if (!token) throw new ShardStartError('DISCORD_TOKEN is not set');
  registerSecret(token);
  const t0 = performance.now();

  // Asked even for a fixed SHARD_COUNT: a wrong token or an unreachable Discord is then one clear
  // line here instead of every shard failing (and being respawned) on its own.
  if (config.SHARD_IDS && config.SHARD_COUNT === 'auto') {
    throw new ShardStartError('SHARD_IDS needs SHARD_COUNT set to a number, the same on every machine (auto could differ between them).');
  }
  const recommended = await recommendedShardCount(config.DISCORD_API_BASE, token);
  const count = config.SHARD_COUNT === 'auto' ? recommended : config.SHARD_COUNT;
  const ids = config.SHARD_IDS ?? [...Array(count).keys()];
  const outside = ids.filter((id) => id >= count);
  if (outside.length) throw new ShardStartError(`SHARD_IDS ${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} not below SHARD_COUNT=${count} (shard ids are 0-${count - 1}).`);
  log.info(
    { shards: count, ids, recommended, source: config.SHARD_COUNT === 'auto' ? 'recommended by Discord' : 'SHARD_COUNT' },
    ids.length === count ? `starting ${count} shard${count === 1 ? '' : 's'}` : `starting shard${ids.length === 1 ? '' : 's'} ${ids.join(', ')} of ${count} (the others run elsewhere)`,
  );
  if (count < recommended) log.warn({ shards: count, recommended }, 'fewer shards than Discord recommends: it may refuse the connections (close code 4011, sharding required)');

  let trainer: TrainerLike | undefined;
  if (opts.trainer ?? config.TRAINER_MODE !== 'off') {
    // Imported only here: with TRAINER_MODE=off the manager never loads the trainer (or TensorFlow.js).
    // It opens the database (applying migrations) before any shard starts.
    const { startTrainerService } = await import('../trainer/service.ts');
    const t = await startTrainerService({ config, log: base.child({ part: 'trainer' }) });
    trainer = t;
    log.info({ mode: config.TRAINER_MODE, holding: t.holding, ownerId: t.ownerId }, 'trainer service started in the shard manager');
  } else {
    // Without the trainer nothing here opens the database, and a wrong PostgreSQL DATABASE_URL
    // (password, missing database, server down) would make every shard fail and be respawned
    // forever. One plain connection (not Prisma: its engine would stay in this small process's
    // memory, ~+100 MB) makes it one line and exit 1. SQLite files are created by the shards.
    const target = parseDatabaseUrl(config.DATABASE_URL);
    if (target.provider === 'postgresql') await (await connectPg(target)).end();
    log.info('trainer off in the shard manager (TRAINER_MODE=off): another process must train');
  }

  let manager: ShardingManager;
  try {
    manager = new ShardingManager(opts.file ?? fileURLToPath(new URL('../bin/bot.ts', import.meta.url)), {
      totalShards: count,
      shardList: ids,
      mode: 'process',
      // We respawn ourselves, with a delay (see the module comment).
      respawn: false,
      execArgv: opts.execArgv ?? ['--import', import.meta.resolve('tsx')],
      token,
    });
  } catch (err) {
    await trainer?.stop(); // release the lease now rather than after it goes stale
    throw err;
  }

  const readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;
  const backoff = opts.respawnDelayMs ?? { min: 1000, max: 60_000 };
  const stopTimeoutMs = opts.stopTimeoutMs ?? 30_000;
  const info = new Map<number, { respawns: number; delay: number; spawnedAt: number; readyOnce: boolean; timer?: NodeJS.Timeout }>();
  const everReady = new Set<number>();
  let stopping: Promise<void> | undefined;
  let resolveReady!: (v: { startupMs: number }) => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<{ startupMs: number }>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => undefined);

  const spawnShard = async (shard: Shard): Promise<void> => {
    const s = info.get(shard.id)!;
    s.spawnedAt = Date.now();
    s.readyOnce = false;
    try {
      await shard.spawn(readyTimeoutMs);
    } catch (err) {
      // Died before ready (then 'death' respawns it) or not ready in time (it may still get there).
      if (!stopping) log.error({ shard: shard.id, err: (err as Error).message }, 'shard did not become ready');
    }
  };

  const watch = (shard: Shard) => {
    info.set(shard.id, { respawns: 0, delay: backoff.min, spawnedAt: Date.now(), readyOnce: false });
    // The environment discord.js prepared for this shard (SHARDS, SHARD_COUNT, token): shards never train.
    Object.assign(shard.env as Record<string, string>, { TRAINER_MODE: 'off', ...opts.shardEnv });
    shard.on('spawn', (child) => log.info({ shard: shard.id, shardPid: (child as ChildProcess).pid }, 'shard process started'));
    shard.on('ready', () => {
      const first = !everReady.has(shard.id);
      everReady.add(shard.id);
      info.get(shard.id)!.readyOnce = true;
      log.info({ shard: shard.id, shardPid: shard.process?.pid, ms: Math.round(Date.now() - info.get(shard.id)!.spawnedAt) }, 'shard ready');
      if (first && everReady.size === ids.length) {
        const startupMs = Math.round(performance.now() - t0);
        log.info({ shards: ids.length, startupMs }, 'all shards ready');
        resolveReady({ startupMs });
      }
    });
    shard.on('disconnect', () => log.warn({ shard: shard.id }, 'shard disconnected from the gateway'));
    shard.on('reconnecting', () => log.info({ shard: shard.id }, 'shard reconnecting to the gateway'));
    shard.on('resume', () => log.info({ shard: shard.id }, 'shard resumed'));
    // Without a listener an 'error' event would throw and take the manager down.
    shard.on('error', (err: Error) => log.error({ shard: shard.id, err: err.message }, 'shard error'));
    shard.on('death', (p) => {
      const child = p as ChildProcess;
      if (stopping) return;
      const s = info.get(shard.id)!;
      // A shard that ran for a while died of something new: start again quickly.
      if (Date.now() - s.spawnedAt > 60_000) s.delay = backoff.min;
      const delay = s.delay;
      s.delay = Math.min(backoff.max, s.delay * 2);
      log.warn(
        { shard: shard.id, shardPid: child?.pid, exitCode: child?.exitCode, signal: child?.signalCode, respawnInMs: delay, respawnsSoFar: s.respawns },
        'shard process died; respawning',
      );
      s.timer = setTimeout(() => {
        s.timer = undefined;
        if (stopping || shard.process) return;
        s.respawns++;
        void spawnShard(shard);
      }, delay);
    });
  };

  const stopShard = async (shard: Shard): Promise<void> => {
    const child = shard.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    // Over IPC (see module comment); a shard still starting up has no IPC handler yet and nothing
    // in flight, so it gets SIGTERM, as does one whose channel is gone.
    if (child.connected && info.get(shard.id)?.readyOnce) child.send(SHARD_STOP_MESSAGE, (err) => err && child.kill('SIGTERM'));
    else child.kill('SIGTERM');
    const timer = setTimeout(() => {
      log.warn({ shard: shard.id, shardPid: child.pid }, `shard did not stop within ${stopTimeoutMs} ms; killing it`);
      child.kill('SIGKILL');
    }, stopTimeoutMs);
    await exited;
    clearTimeout(timer);
    log.info({ shard: shard.id, exitCode: child.exitCode, signal: child.signalCode }, 'shard stopped');
  };

  const stop = () =>
    (stopping ??= (async () => {
      log.info('stopping shards');
      rejectReady(new Error('stopped before all shards were ready'));
      for (const s of info.values()) clearTimeout(s.timer);
      await Promise.all([...manager.shards.values()].map(stopShard));
      if (trainer) {
        log.info('stopping the trainer');
        await trainer.stop();
      }
      log.info('shard manager stopped');
    })());

  // Spawn in the background: ready/stop are the handles.
  void (async () => {
    for (const [i, id] of ids.entries()) {
      if (stopping) break;
      const shard = manager.createShard(id);
      watch(shard);
      await spawnShard(shard);
      if (i < ids.length - 1 && config.SHARD_SPAWN_DELAY_MS > 0 && !stopping) await sleep(config.SHARD_SPAWN_DELAY_MS);
    }
  })();

  return {
    manager,
    count,
    ids,
    ready,
    trainer,
    async memory() {
      const shards = await Promise.all(
        [...manager.shards.values()].map(async (s) => ({
          id: s.id,
          rss: s.process ? await (s.eval('process.memoryUsage().rss') as Promise<number>).catch(() => null) : null,
        })),
      );
      return { manager: process.memoryUsage().rss, shards };
    },
    stop,
  };
}
