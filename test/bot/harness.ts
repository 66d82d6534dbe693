/**
 * Test harness: the real bot (startBot, real discord.js client, real Prisma
 * on a temporary SQLite file, a real — tiny — generator on the WASM backend)
 * against the fake Discord server. Tests fail fast on unhandled rejections.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { DestinationStream } from 'pino';
import { loadConfig, type Config } from '../../src/config/env.ts';
import { createLogger, setRootLogger } from '../../src/log.ts';
import { initTf, tf } from '../../src/tf/index.ts';
import { buildGenerator, type GanConfig } from '../../src/gan/model.ts';
import { startBot, type Bot, type BotOptions } from '../../src/bot/bot.ts';
import type { GeneratorInfo } from '../../src/bot/generation.ts';
import type { FakeDiscordOptions } from '../fake-discord/models.ts';
import { FakeDiscord } from '../fake-discord/server.ts';
import { tempDir as tempFolder } from '../helpers/temp.ts';

export const ADMIN_ID = '200000000000000001';
export const ALICE = '100000000000000001';
export const BOB = '100000000000000002';

/** Collected unhandled rejections: any one fails the test that saw it. */
export const unhandled: unknown[] = [];
let listening = false;
export function failFastOnUnhandledRejection(): void {
  if (listening) return;
  listening = true;
  process.on('unhandledRejection', (reason) => {
    unhandled.push(reason);
    // Loud, immediately: the test's own assertion comes later.
    console.error('UNHANDLED REJECTION in bot test:', reason);
  });
}
export function expectNoUnhandled(): void {
  expect(unhandled, 'unhandled promise rejections').toEqual([]);
}

/** A fresh temporary folder, removed after the test file. */
export function tempDir(prefix = 'shoebot-bot-'): string {
  return tempFolder(prefix);
}

export const TINY_GAN: GanConfig = { imageSize: 32, channels: 1, nz: 16, ngf: 8, ndf: 8 };

/** A freshly initialised tiny generator (the real model code, not a mock). */
export function tinyGenerator(version = 'test-v1', seed = 1, cfg: GanConfig = TINY_GAN): GeneratorInfo {
  return {
    model: buildGenerator(cfg, seed),
    config: cfg,
    version,
    step: 0,
    createdAt: new Date().toISOString(),
    metrics: {},
  };
}

export interface Harness {
  fake: FakeDiscord;
  bot: Bot;
  config: Config;
  dir: string;
  logLines: string[];
  /** client.destroy() (via bot.stop) first, then the fake (see shared README). */
  close(): Promise<void>;
}

/** Starts fake Discord + bot; resolves when the bot is ready and commands are registered. */
export async function startHarness(
  opts: {
    env?: Record<string, string>;
    bot?: Partial<BotOptions>;
    fake?: FakeDiscordOptions;
    generator?: GeneratorInfo | null;
  } = {},
): Promise<Harness> {
  failFastOnUnhandledRejection();
  await initTf('wasm');
  const fake = await FakeDiscord.start(opts.fake);
  const dir = tempDir();
  const config = loadConfig(
    {
      DISCORD_TOKEN: fake.token,
      DISCORD_API_BASE: fake.apiBase,
      DISCORD_GUILD_ID: fake.guild.id,
      DATABASE_URL: `file:${path.join(dir, 'bot.db')}`,
      MODELS_DIR: path.join(dir, 'models'),
      DATA_DIR: path.join(dir, 'data'),
      ADMIN_USER_IDS: ADMIN_ID,
      TF_BACKEND: 'wasm',
      LOG_LEVEL: 'debug',
      ...opts.env,
    },
    { dotenv: false },
  );
  const logLines: string[] = [];
  const dest: DestinationStream = { write: (l: string) => void logLines.push(l) };
  const log = createLogger({ level: 'debug', destination: dest });
  // Modules that log through the root logger (database migrations) write there too.
  setRootLogger(log);
  const bot = await startBot({
    config,
    log,
    generator: opts.generator === undefined ? tinyGenerator() : opts.generator,
    trainer: false,
    ...opts.bot,
  });
  await bot.ready;
  return {
    fake,
    bot,
    config,
    dir,
    logLines,
    async close() {
      await bot.stop();
      await fake.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** PNG signature check + dimensions from the IHDR chunk. */
export function pngSize(data: Buffer): { width: number; height: number } {
  expect(data.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}

/** custom_ids of every button of a message's components. */
export function buttonIds(components: unknown[]): string[] {
  return (components as { components?: { custom_id?: string }[] }[]).flatMap((r) =>
    (r.components ?? []).map((c) => c.custom_id ?? ''),
  );
}

export function numTensors(): number {
  return tf.memory().numTensors;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
