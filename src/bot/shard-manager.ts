/**
 * `npm run start:shards`: discord.js's ShardingManager for bots in many guilds.
 *
 * The manager process spawns one child process per shard; each child is the
 * normal bot (src/bin/bot.ts) with its own generator copy, the same
 * DATABASE_URL and MODELS_DIR, discord.js telling it its shard through
 * SHARDS/SHARD_COUNT. Shards run with TRAINER_MODE=off: the scheduled
 * trainer runs once, in this process (src/trainer/lease-service.ts), and publishes
 * checkpoints through MODELS_DIR/manifest.json, which every shard follows.
 * Shard 0 registers the slash commands (bot.ts), once, not once per shard.
 * On several machines each runs some of the shards (SHARD_IDS, with the same
 * numeric SHARD_COUNT everywhere) against one PostgreSQL database; the
 * trainer lease makes one of the managers the trainer.
 *
 * This process stays small: it never loads TensorFlow.js or a generator
 * itself (only the lease service may, and only when TRAINER_MODE is not off).
 *
 * Differences from discord.js's defaults, and why:
 * - The shard count for `auto` comes from DISCORD_API_BASE (discord.js's own
 *   fetchRecommendedShardCount always asks discord.com).
 * - Shards run TypeScript: they are forked with `--import tsx`.
 * - Respawning a dead shard (with a growing delay) and stopping the shards
 *   (gracefully, over IPC) are shard-supervisor.ts's, not discord.js's.
 */
import { fileURLToPath } from 'node:url';
import { ShardingManager } from 'discord.js';
import type { Logger } from 'pino';
import type { Config } from '../config/env.ts';
import { log as rootLog, registerSecret } from '../log.ts';
import { parseDatabaseUrl } from '../db/paths.ts';
import { connectPg } from '../db/pg.ts';
import { ShardSupervisor } from './shard-supervisor.ts';

/** The program every shard process runs: the normal bot. */
const SHARD_SCRIPT = fileURLToPath(new URL('../bin/bot.ts', import.meta.url));

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
  /** Run the lease service here (default: unless TRAINER_MODE is off). */
  trainer?: boolean;
}

/** The part of the lease service's handle (LeaseServiceHandle, src/trainer/standalone.ts) the manager uses. */
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
  /** The lease service running in this process, if any. */
  trainer?: TrainerLike;
  /** Resident memory of this process and of each shard process, in bytes (asked over IPC). */
  memory(): Promise<{ manager: number; shards: { id: number; rss: number | null }[] }>;
  /** Stops the shards gracefully (in parallel), then the trainer. Safe to call twice. */
  stop(): Promise<void>;
}

/** Thrown for problems the operator must fix (token, network); src/bin/shards.ts prints its message as one line. */
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
    res = await fetch(`${apiBase}/v10/gateway/bot`, {
      headers: { authorization: `Bot ${token}` },
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? 'no answer within 30 s' : (e.cause?.code ?? e.message);
    throw new ShardStartError(`cannot reach Discord at ${apiBase} (${why}): check the network or DISCORD_API_BASE.`);
  }
  if (res.status === 401)
    throw new ShardStartError(
      'Discord refused the token: check DISCORD_TOKEN (Bot -> Reset Token in the developer portal).',
    );
  if (!res.ok)
    throw new ShardStartError(
      `Discord answered ${res.status} to GET /gateway/bot; set SHARD_COUNT to a number to skip this question.`,
    );
  const body = (await res.json()) as { shards?: unknown };
  const n = Number(body.shards);
  if (!Number.isInteger(n) || n < 1)
    throw new ShardStartError('Discord did not recommend a shard count; set SHARD_COUNT to a number.');
  return n;
}

/**
 * Starts the lease service (unless disabled), then spawns every shard one
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
  const startedAt = performance.now();

  const { count, ids } = await chooseShards(config, token, log);
  const trainer = await startTrainerHere(opts, base, log);
  const manager = await createManager(opts, token, count, ids, trainer);
  const shards = new ShardSupervisor({
    manager,
    ids,
    log,
    startedAt,
    spawnDelayMs: config.SHARD_SPAWN_DELAY_MS,
    readyTimeoutMs: opts.readyTimeoutMs ?? 120_000,
    respawnDelayMs: opts.respawnDelayMs ?? { min: 1000, max: 60_000 },
    stopTimeoutMs: opts.stopTimeoutMs ?? 30_000,
    shardEnv: opts.shardEnv,
  });
  // Spawn in the background: ready/stop are the handles.
  shards.spawnAll();

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('stopping shards');
      await shards.stop();
      if (trainer) {
        log.info('stopping the trainer');
        await trainer.stop();
      }
      log.info('shard manager stopped');
    })());
  return { manager, count, ids, ready: shards.ready, trainer, memory: () => memoryOf(manager), stop };
}

/**
 * The total shard count (SHARD_COUNT, or Discord's recommendation for `auto`) and the ids this
 * manager runs (SHARD_IDS, default all), logged; throws ShardStartError for a bad combination.
 */
async function chooseShards(config: Config, token: string, log: Logger): Promise<{ count: number; ids: number[] }> {
  // Asked even for a fixed SHARD_COUNT: a wrong token or an unreachable Discord is then one clear
  // line here instead of every shard failing (and being respawned) on its own.
  if (config.SHARD_IDS && config.SHARD_COUNT === 'auto') {
    throw new ShardStartError(
      'SHARD_IDS needs SHARD_COUNT set to a number, the same on every machine (auto could differ between them).',
    );
  }
  const recommended = await recommendedShardCount(config.DISCORD_API_BASE, token);
  const count = config.SHARD_COUNT === 'auto' ? recommended : config.SHARD_COUNT;
  const ids = config.SHARD_IDS ?? [...Array(count).keys()];
  const outside = ids.filter((id) => id >= count);
  if (outside.length)
    throw new ShardStartError(
      `SHARD_IDS ${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} not below SHARD_COUNT=${count} (shard ids are 0-${count - 1}).`,
    );
  log.info(
    {
      shards: count,
      ids,
      recommended,
      source: config.SHARD_COUNT === 'auto' ? 'recommended by Discord' : 'SHARD_COUNT',
    },
    ids.length === count
      ? `starting ${count} shard${count === 1 ? '' : 's'}`
      : `starting shard${ids.length === 1 ? '' : 's'} ${ids.join(', ')} of ${count} (the others run elsewhere)`,
  );
  if (count < recommended)
    log.warn(
      { shards: count, recommended },
      'fewer shards than Discord recommends: it may refuse the connections (close code 4011, sharding required)',
    );
  return { count, ids };
}

/**
 * The lease service started in this process (opts.trainer, default unless TRAINER_MODE=off), or
 * undefined after checking that the shards' PostgreSQL database can be reached.
 */
async function startTrainerHere(
  opts: ShardManagerOptions,
  base: Logger,
  log: Logger,
): Promise<TrainerLike | undefined> {
  const { config } = opts;
  if (opts.trainer ?? config.TRAINER_MODE !== 'off') {
    // Imported only here: with TRAINER_MODE=off the manager never loads the trainer (or TensorFlow.js).
    // It opens the database (applying migrations) before any shard starts.
    const { startLeaseService } = await import('../trainer/standalone.ts');
    const t = await startLeaseService({ config, log: base.child({ part: 'trainer' }) });
    log.info(
      { mode: config.TRAINER_MODE, holding: t.holding, ownerId: t.ownerId },
      'trainer service started in the shard manager',
    );
    return t;
  }
  // Without the trainer nothing here opens the database, and a wrong PostgreSQL DATABASE_URL
  // (password, missing database, server down) would make every shard fail and be respawned
  // forever. One plain connection (not Prisma: its engine would stay in this small process's
  // memory, ~+100 MB) makes it one line and exit 1. SQLite files are created by the shards.
  const target = parseDatabaseUrl(config.DATABASE_URL);
  if (target.provider === 'postgresql') await (await connectPg(target)).end();
  log.info('trainer off in the shard manager (TRAINER_MODE=off): another process must train');
  return undefined;
}

/** discord.js's manager for shards `ids` of `count` (forked with tsx, not respawned by it); stops `trainer` if it cannot be made. */
async function createManager(
  opts: ShardManagerOptions,
  token: string,
  count: number,
  ids: number[],
  trainer: TrainerLike | undefined,
): Promise<ShardingManager> {
  try {
    return new ShardingManager(opts.file ?? SHARD_SCRIPT, {
      totalShards: count,
      shardList: ids,
      mode: 'process',
      // We respawn ourselves, with a delay (see shard-supervisor.ts).
      respawn: false,
      execArgv: opts.execArgv ?? ['--import', import.meta.resolve('tsx')],
      token,
    });
  } catch (err) {
    await trainer?.stop(); // release the lease now rather than after it goes stale
    throw err;
  }
}

/** Resident memory of this process and of each shard process (asked over IPC; null for a shard not running or not answering). */
async function memoryOf(
  manager: ShardingManager,
): Promise<{ manager: number; shards: { id: number; rss: number | null }[] }> {
  const shards = await Promise.all(
    [...manager.shards.values()].map(async (s) => ({
      id: s.id,
      rss: s.process ? await (s.eval('process.memoryUsage().rss') as Promise<number>).catch(() => null) : null,
    })),
  );
  return { manager: process.memoryUsage().rss, shards };
}
