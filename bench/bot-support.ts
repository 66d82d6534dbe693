/**
 * What the in-process bot benchmarks (bench:bot, bench:blend) share: the generator to measure, the
 * bot's configuration against the fake Discord, and a percentile.
 */
import path from 'node:path';
import { loadConfig, type Config } from '../src/config/env.ts';
import { loadGeneratorCheckpoint } from '../src/gan/checkpoint-load.ts';
import { buildGenerator, DEFAULT_GAN_CONFIG } from '../src/gan/model.ts';
import type { GeneratorInfo } from '../src/bot/generation.ts';
import type { FakeDiscord } from '../test/fake-discord/server.ts';

/** Admin user id of the benchmarks (admins are not rate-limited). */
export const BENCH_ADMIN = '200000000000000001';

/** The active checkpoint under `modelsDir`, else an untrained generator of the default size (same speed). */
export async function benchGenerator(modelsDir: string): Promise<GeneratorInfo> {
  try {
    return await loadGeneratorCheckpoint(modelsDir);
  } catch {
    return {
      model: buildGenerator(DEFAULT_GAN_CONFIG),
      config: DEFAULT_GAN_CONFIG,
      version: 'untrained-default',
      step: 0,
      createdAt: new Date().toISOString(),
      metrics: {},
    };
  }
}

/**
 * The bot's configuration for a benchmark against `fake`: a throw-away database and MODELS_DIR in
 * `work` (training there writes throw-away checkpoints, never to the operator's models).
 */
export function benchBotConfig(fake: FakeDiscord, work: string, logLevel: Config['LOG_LEVEL']): Config {
  return loadConfig(
    {
      ...process.env,
      DISCORD_TOKEN: fake.token,
      DISCORD_API_BASE: fake.apiBase,
      DISCORD_GUILD_ID: fake.guild.id,
      DATABASE_URL: `file:${path.join(work, 'bench.db')}`,
      MODELS_DIR: path.join(work, 'models'),
      ADMIN_USER_IDS: BENCH_ADMIN,
      LOG_LEVEL: logLevel,
    },
    { dotenv: false },
  );
}

/** The p-th percentile (0-100, nearest rank) of `xs`; NaN when empty. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
}
