/**
 * The one place that reads shoebot's configuration: process.env, plus a `.env`
 * file in the working directory when present (process.env wins). Values are
 * validated once; a bad value fails with one line per problem naming the
 * variable, never echoing a secret.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { validate as validateCron } from 'node-cron';

export const TF_BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type TfBackendChoice = (typeof TF_BACKENDS)[number];

/** Most steps one training run may be asked for (TRAIN_STEPS, /train run steps:). */
export const MAX_TRAIN_STEPS = 10_000_000;
/** TRAIN_STEPS unset: the default 64x64x3 model (ngf=32, batch 32, DiffAugment) trains at ~30 img/s on one CPU core, so ~3.5 h, within a night. */
export const DEFAULT_TRAIN_STEPS = 12_000;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const SHARD_COUNT_MSG = 'must be auto or a whole number of shards (1-4096)';

function validPgUrl(u: string): boolean {
  try {
    return new URL(u).hostname !== '';
  } catch {
    return false;
  }
}

const snowflake = z.string().regex(/^\d{17,20}$/, 'must be a Discord id (17-20 digits)');

const schema = z.object({
  DISCORD_TOKEN: z.string().trim().min(1).optional(),
  DISCORD_API_BASE: z
    .string()
    .url('must be a URL such as https://discord.com/api')
    .default('https://discord.com/api')
    .transform((u) => u.replace(/\/+$/, '')),
  DISCORD_GUILD_ID: snowflake.optional(),
  DATABASE_URL: z
    .string()
    .default('file:./data/shoebot.db')
    .refine(
      (u) => /^(file:|postgres(ql)?:\/\/)/i.test(u),
      'must be a SQLite file URL such as file:./data/shoebot.db or a PostgreSQL URL such as postgresql://USER:PASSWORD@HOST:5432/DATABASE',
    )
    // Checked here so a typo fails at start-up with the variable's name; the message never echoes the value.
    .refine(
      (u) => !/^postgres(ql)?:\/\//i.test(u) || validPgUrl(u),
      'is not a valid PostgreSQL URL: use postgresql://USER:PASSWORD@HOST:5432/DATABASE (percent-encode special characters in the password, e.g. @ as %40)',
    ),
  MODELS_DIR: z.string().min(1).default('models'),
  /**
   * Start on a database that is behind MODELS_DIR's design-id mark (deleted, replaced or restored
   * from an old backup); new design ids then continue above the mark so old messages stay right.
   */
  ALLOW_NEW_DATABASE: z
    .enum(['0', '1', 'true', 'false'], { error: 'must be 1 (start on this database anyway) or 0' })
    .default('0')
    .transform((v) => v === '1' || v === 'true'),
  DATA_DIR: z.string().min(1).default('data'),
  TRAIN_CRON: z
    .string()
    .default('0 3 * * *')
    .refine((c) => validateCron(c), 'is not a valid cron expression (e.g. "0 3 * * *" = nightly at 03:00)'),
  TRAIN_STEPS: z.coerce
    .number({ error: 'must be a whole number of steps' })
    .int('must be a whole number of steps')
    .min(1)
    .max(MAX_TRAIN_STEPS)
    .default(DEFAULT_TRAIN_STEPS),
  /** Relative margin of the hot-swap quality gate (0.1 = reject a candidate >10% worse). */
  QUALITY_MARGIN: z.coerce.number({ error: 'must be a number such as 0.1' }).min(0).max(10).default(0.1),
  /** Per-member /shoe requests allowed per minute (admins are exempt). */
  SHOE_RATE_PER_MINUTE: z.coerce.number({ error: 'must be a whole number' }).int().min(1).max(1000).default(5),
  /** Generation requests that may wait at once before members are told the bot is busy. */
  SHOE_QUEUE_MAX: z.coerce.number({ error: 'must be a whole number' }).int().min(1).max(10_000).default(32),
  /** Reconcile (votes made while the bot could not see or store them): re-read design messages of the last this many days. */
  RECONCILE_DAYS: z.coerce
    .number({ error: 'must be a number of days' })
    .min(0, 'must be 0-365 days')
    .max(365, 'must be 0-365 days')
    .default(14),
  /** ... and at most this many of them, newest first (each costs 1-5 Discord requests); 0 turns reconcile off. */
  RECONCILE_MAX_MESSAGES: z.coerce
    .number({ error: 'must be a whole number of messages' })
    .int('must be a whole number of messages')
    .min(0, 'must be 0-100000')
    .max(100_000, 'must be 0-100000')
    .default(1000),
  TF_BACKEND: z.enum(TF_BACKENDS).default('auto'),
  ADMIN_USER_IDS: z
    .string()
    .default('')
    .transform((s) => s.split(/[\s,]+/).filter(Boolean))
    .pipe(z.array(snowflake)),
  /** The Discord application's owner (or its team's owner, admins and developers) are shoebot admins too; false: only ADMIN_USER_IDS. */
  ADMIN_APP_OWNERS: z
    .string()
    .regex(/^(true|false|yes|no|on|off|1|0)$/i, 'must be true or false')
    .default('true')
    .transform((v) => /^(true|yes|on|1)$/i.test(v)),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /**
   * Who runs the scheduled trainer (one process among all sharing DATABASE_URL holds the lease):
   * auto = take the lease if free, else follow; local = this process must train (waits for the
   * lease); off = never train (shards, bots on other machines).
   */
  TRAINER_MODE: z
    .enum(['auto', 'local', 'off'], {
      error: 'must be auto (train if no other process does), local (this process trains) or off (never train here)',
    })
    .default('auto'),
  /** Trainer lease heartbeat; another process takes the lease over after 3 missed heartbeats. */
  TRAINER_HEARTBEAT_SECONDS: z.coerce
    .number({ error: 'must be a whole number of seconds (1-300)' })
    .int('must be a whole number of seconds (1-300)')
    .min(1, 'must be 1-300 seconds')
    .max(300, 'must be 1-300 seconds')
    .default(5),
  /** `npm run start:shards`: how many shard processes; auto = what Discord recommends (GET /gateway/bot). */
  SHARD_COUNT: z
    .union(
      [z.literal('auto'), z.coerce.number().int(SHARD_COUNT_MSG).min(1, SHARD_COUNT_MSG).max(4096, SHARD_COUNT_MSG)],
      { error: SHARD_COUNT_MSG },
    )
    .default('auto'),
  /** `npm run start:shards` on several machines: the shard ids this machine runs (default all); needs a numeric SHARD_COUNT. */
  SHARD_IDS: z
    .string()
    .regex(/^\s*\d+(\s*[,\s]\s*\d+)*\s*$/, 'must be shard ids separated by commas, e.g. 0,1')
    .transform((s) =>
      [
        ...new Set(
          s
            .split(/[\s,]+/)
            .filter(Boolean)
            .map(Number),
        ),
      ].sort((a, b) => a - b),
    )
    .optional(),
  /**
   * Longest a graceful shutdown (SIGTERM/Ctrl-C) may take before the process gives up on what is left
   * and exits 1: a supervisor's stop timeout must not be the only thing that ends a stuck shutdown.
   */
  SHUTDOWN_TIMEOUT_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(100, 'must be at least 100 ms')
    .max(3_600_000, 'must be at most 3600000 ms (1 h)')
    .default(15_000),
  /** Pause after a shard is ready before the next one starts: Discord allows one IDENTIFY per 5 s. */
  SHARD_SPAWN_DELAY_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int()
    .min(0)
    .max(600_000)
    .default(5500),
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses a dotenv-style file: KEY=value lines, # comments, optional quotes. */
export function parseDotEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2];
    // A quoted value may be followed by a comment: KEY="value"  # note
    const quoted = /^(['"])(.*?)\1\s*(?:#.*)?$/.exec(value);
    if (quoted) value = quoted[2];
    else value = value.replace(/\s+#.*$/, '').trim();
    out[m[1]] = value;
  }
  return out;
}

/**
 * Validates an environment (default: `.env` in `cwd` overlaid by process.env).
 * Empty strings count as unset, so `FOO=` in a .env file means "use the default".
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  opts: { cwd?: string; dotenv?: boolean } = {},
): Config {
  const merged: Record<string, string | undefined> = {};
  if (opts.dotenv !== false) {
    const file = path.join(opts.cwd ?? process.cwd(), '.env');
    if (fs.existsSync(file)) Object.assign(merged, parseDotEnv(fs.readFileSync(file, 'utf8')));
  }
  for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v;
  for (const k of Object.keys(merged)) if (merged[k] === '') delete merged[k];

  const result = schema.safeParse(merged);
  if (!result.success) {
    // Never include received values: one of them may be the token.
    const problems = result.error.issues.map((i) => `${i.path.join('.') || 'config'} ${i.message}`);
    throw new ConfigError(problems);
  }
  return result.data;
}

let cached: Config | undefined;
/** The process-wide configuration, validated on first use. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}
