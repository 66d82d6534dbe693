/**
 * Design ids survive the loss of the database: messages already show "design #N" (and buttons
 * carry N), so a bot restarted on an empty database must not hand out #1 again. MODELS_DIR keeps
 * the mark; the real bot against the fake Discord, the real SQLite file deleted in between.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.ts';
import { startBot } from '../../src/bot/bot.ts';
import { DESIGN_ID_MARK_FILE, DesignIdReuseError } from '../../src/db/design-id-mark.ts';
import { createLogger } from '../../src/log.ts';
import { FakeDiscord } from '../fake-discord/server.ts';
import { ALICE, expectNoUnhandled, startHarness, tempDir, tinyGenerator } from './harness.ts';

afterEach(() => expectNoUnhandled());

function deleteDatabase(dbPath: string): void {
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(dbPath + suffix, { force: true });
}

async function shoeIds(h: Awaited<ReturnType<typeof startHarness>>, count: number): Promise<number[]> {
  const reply = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count }, user: ALICE }));
  expect(reply.ephemeral, reply.message.content).toBe(false);
  return [...reply.message.content.matchAll(/design #(\d+)/g)].map((m) => Number(m[1]));
}

describe('design ids after the database is lost', () => {
  it("refuses an empty database below MODELS_DIR's mark, and with ALLOW_NEW_DATABASE=1 continues above it", async () => {
    const dir = tempDir('shoebot-ids-');
    const dbPath = path.join(dir, 'bot.db');
    const env = { DATABASE_URL: `file:${dbPath}`, MODELS_DIR: path.join(dir, 'models') };

    const first = await startHarness({ env });
    const shown = await shoeIds(first, 4);
    expect(shown).toEqual([1, 2, 3, 4]);
    await first.close();
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'models', DESIGN_ID_MARK_FILE), 'utf8')).highestDesignId).toBe(4);

    deleteDatabase(dbPath);
    const fake = await FakeDiscord.start();
    try {
      const config = loadConfig(
        { DISCORD_TOKEN: fake.token, DISCORD_API_BASE: fake.apiBase, TF_BACKEND: 'wasm', ...env },
        { dotenv: false },
      );
      const refused = await startBot({
        config,
        log: createLogger({ level: 'silent' }),
        generator: tinyGenerator(),
        trainer: false,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(DesignIdReuseError);
      expect((refused as Error).message).toContain('has handed out design ids up to #0');
      expect((refused as Error).message).toContain('already showed designs up to #4');
      expect((refused as Error).message).toContain('ALLOW_NEW_DATABASE=1');
      expect(fake.connectedSessions).toBe(0); // it never logged in
    } finally {
      await fake.close();
    }

    const second = await startHarness({ env: { ...env, ALLOW_NEW_DATABASE: '1' } });
    try {
      expect(second.logLines.some((l) => l.includes('new designs continue at #5'))).toBe(true);
      expect(await shoeIds(second, 2)).toEqual([5, 6]);
    } finally {
      await second.close();
    }
  }, 90_000);

  it('a database that is ahead of (or level with) the mark starts normally and raises the mark', async () => {
    const dir = tempDir('shoebot-ids-');
    const env = { DATABASE_URL: `file:${path.join(dir, 'bot.db')}`, MODELS_DIR: path.join(dir, 'models') };
    const first = await startHarness({ env });
    await shoeIds(first, 2);
    await first.close();
    const again = await startHarness({ env });
    try {
      expect(await shoeIds(again, 1)).toEqual([3]);
    } finally {
      await again.close();
    }
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'models', DESIGN_ID_MARK_FILE), 'utf8')).highestDesignId).toBe(3);
  }, 90_000);
});
