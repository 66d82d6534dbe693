/**
 * The small pieces of sharding that need no shard processes: the shard count
 * asked at DISCORD_API_BASE (discord.js's own helper always asks
 * discord.com), its errors as one plain line, SHARD_COUNT validation, and a
 * single-process client that is not confused by our SHARD_COUNT=auto.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.ts';
import { createClient } from '../../src/bot/client.ts';
import { recommendedShardCount, ShardStartError, startShardManager } from '../../src/bot/shard-manager.ts';
import { createLogger } from '../../src/log.ts';
import { FakeDiscord } from '../fake-discord/server.ts';
import { pgUrlFor } from '../setup/pg-url.ts';

let fake: FakeDiscord;
beforeAll(async () => {
  fake = await FakeDiscord.start({ recommendedShards: 3 });
});
afterAll(async () => {
  await fake?.close();
});

describe('shard count', () => {
  it('is what GET /gateway/bot at DISCORD_API_BASE recommends', async () => {
    expect(await recommendedShardCount(fake.apiBase, fake.token)).toBe(3);
    fake.recommendedShards = 7;
    expect(await recommendedShardCount(fake.apiBase, fake.token)).toBe(7);
    const asked = fake.requests.filter((r) => r.route === '/gateway/bot');
    expect(asked.length).toBeGreaterThanOrEqual(2);
    expect(asked.every((r) => r.headers.authorization === `Bot ${fake.token}`)).toBe(true);
  });

  it('explains a refused token and an unreachable Discord in one line, without the token', async () => {
    const refused = recommendedShardCount(fake.apiBase, 'not.the.token-0123456789');
    await expect(refused).rejects.toBeInstanceOf(ShardStartError);
    await expect(refused).rejects.toThrow(/Discord refused the token: check DISCORD_TOKEN/);
    // A port nobody listens on (the fake's, after closing a second fake).
    const gone = await FakeDiscord.start();
    const base = gone.apiBase;
    await gone.close();
    const err = await recommendedShardCount(base, fake.token).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ShardStartError);
    expect((err as Error).message).toMatch(/^cannot reach Discord at http:\/\/127\.0\.0\.1:\d+\/api \(ECONNREFUSED\)/);
    expect((err as Error).message).not.toContain(fake.token);
  });

  it('SHARD_COUNT accepts auto or 1-4096 and names the variable otherwise', () => {
    const parse = (v?: string) => loadConfig(v === undefined ? {} : { SHARD_COUNT: v }, { dotenv: false }).SHARD_COUNT;
    expect(parse()).toBe('auto');
    expect(parse('auto')).toBe('auto');
    expect(parse('16')).toBe(16);
    for (const bad of ['0', '-1', '1.5', 'many', '5000']) {
      expect(() => parse(bad)).toThrow('SHARD_COUNT must be auto or a whole number of shards (1-4096)');
    }
  });

  it('SHARD_IDS (some shards on this machine) needs a fixed SHARD_COUNT and ids below it', async () => {
    const quiet = createLogger({ level: 'silent' });
    const start = (env: Record<string, string>) =>
      startShardManager({
        config: loadConfig({ DISCORD_TOKEN: fake.token, DISCORD_API_BASE: fake.apiBase, ...env }, { dotenv: false }),
        log: quiet,
      });
    await expect(start({ SHARD_IDS: '0' })).rejects.toThrow('SHARD_IDS needs SHARD_COUNT set to a number');
    await expect(start({ SHARD_IDS: '1,2,3', SHARD_COUNT: '2' })).rejects.toThrow(
      'SHARD_IDS 2, 3 are not below SHARD_COUNT=2 (shard ids are 0-1).',
    );
    expect(() => loadConfig({ SHARD_IDS: '0-3' }, { dotenv: false })).toThrow(
      'SHARD_IDS must be shard ids separated by commas, e.g. 0,1',
    );
    expect(loadConfig({ SHARD_IDS: '3, 1,1' }, { dotenv: false }).SHARD_IDS).toEqual([1, 3]);
    // Refused before anything was started: this process is not a shard manager now.
    expect(process.env.SHARDING_MANAGER).toBeUndefined();
  });

  it('with TRAINER_MODE=off a wrong PostgreSQL DATABASE_URL is one line before any shard starts (not shards respawned forever)', async () => {
    const quiet = createLogger({ level: 'silent' });
    const start = (url: string) =>
      startShardManager({
        config: loadConfig(
          {
            DISCORD_TOKEN: fake.token,
            DISCORD_API_BASE: fake.apiBase,
            SHARD_COUNT: '1',
            TRAINER_MODE: 'off',
            DATABASE_URL: url,
          },
          { dotenv: false },
        ),
        log: quiet,
      });
    const wrong = new URL(pgUrlFor('postgres'));
    wrong.password = 'not-the-password-4711';
    const refused = await start(wrong.toString()).catch((e: Error) => e);
    expect((refused as Error).name).toBe('DatabaseConnectionError');
    expect((refused as Error).message).toMatch(/refused the password for user/);
    expect((refused as Error).message).not.toContain('not-the-password-4711');
    const missing = await start(pgUrlFor('shoebot_no_such_database')).catch((e: Error) => e);
    expect((missing as Error).message).toMatch(/^Database "shoebot_no_such_database" does not exist/);
    expect(process.env.SHARDING_MANAGER).toBeUndefined();
    expect(fake.gatewayLog.length).toBe(0);
  });

  it('a single process (npm start) serves shard 0 of 1 whatever SHARD_COUNT says, and leaves the environment alone', async () => {
    const before = { SHARDS: process.env.SHARDS, SHARD_COUNT: process.env.SHARD_COUNT };
    process.env.SHARD_COUNT = 'auto';
    process.env.SHARDS = '[1]';
    try {
      const client = createClient({ apiBase: fake.apiBase });
      expect([client.options.shards, client.options.shardCount, client.shard]).toEqual([[0], 1, null]);
      expect([process.env.SHARDS, process.env.SHARD_COUNT]).toEqual(['[1]', 'auto']);
      await client.destroy();
    } finally {
      for (const [k, v] of Object.entries(before)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
