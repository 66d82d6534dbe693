/**
 * Storage faults under the running bot, for real: a full database (SQLite's `max_page_count` makes
 * SQLite itself answer SQLITE_FULL, exactly as on a full disk) and the database file deleted or
 * replaced while the bot runs. Users hear that designs cannot be stored (not the generic apology),
 * the operator reads one log line with the path (not one per event), `/train run` never claims a
 * run that was not recorded, and the database stays intact and takes writes again once space is
 * freed.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { makeDataset, TINY_FLAGS } from '../trainer/helpers.ts';
import { ADMIN_ID, ALICE, expectNoUnhandled, sleep, startHarness, tempDir, type Harness } from './harness.ts';

afterEach(() => expectNoUnhandled());

const FULL_LINE = 'the database storage is full';

function linesWith(h: Harness, msg: string): string[] {
  return h.logLines.filter((l) => l.includes(msg));
}

async function postShoe(h: Harness) {
  const reply = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count: 1 }, user: ALICE }));
  expect(reply.ephemeral, reply.message.content).toBe(false);
  await h.fake.waitForRequest(
    (r) => r.method === 'PUT' && r.route.endsWith(`/messages/${reply.message.id}/reactions/👍/@me`),
  );
  const [design] = await h.bot.ctx.store.findDesignsByMessage(reply.message.id);
  return { messageId: reply.message.id, designId: design.id };
}

async function waitUntil(what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const t0 = performance.now();
  while (!(await pred())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

describe('a full database', () => {
  it('tells users and the operator (once), never claims a training run, and recovers intact when space is freed', async () => {
    const datasetDir = path.join(tempDir(), 'dataset');
    await makeDataset(datasetDir);
    const h = await startHarness({
      bot: { trainer: { schedule: false, forwardStderr: false, args: ['--dataset', datasetDir, ...TINY_FLAGS] } },
    });
    try {
      const db = h.bot.ctx.store.db;
      const before = await postShoe(h);
      const dbPath = path.join(h.dir, 'bot.db');

      // Fill the file through a second connection capped at the file's current size
      // (`max_page_count`, per connection): SQLite answers SQLITE_FULL for any write that needs a
      // new page. Each table this test writes to is filled at the end its next rows go to, so those
      // rows find no room either, as on a full disk. The bot's own connection gets the same cap.
      const raw = new Database(dbPath);
      const pages = Number(raw.pragma('page_count', { simple: true }));
      raw.pragma(`max_page_count = ${pages}`);
      const fillUntilFull = (write: (i: number) => unknown): number => {
        for (let i = 0; i < 1_000_000; i++) {
          try {
            write(i);
          } catch (e) {
            if ((e as { code?: string }).code === 'SQLITE_FULL') return i;
            throw e;
          }
        }
        throw new Error('never full');
      };
      // Filler rows are no bigger than the bot's (timestamps 0, one-letter texts), so where a filler
      // row no longer fits, the bot's does not either.
      const latent = Buffer.alloc(16 * 4);
      const insertDesign = raw.prepare(
        `INSERT INTO Design (seed, gridIndex, latent, checkpointVersion, channelId, requesterId, createdAt) VALUES (?, 0, ?, 'f', 'c', 'u', 0)`,
      );
      fillUntilFull((i) => insertDesign.run(i, latent));
      const insertVote = raw.prepare('INSERT INTO Vote (userId, designId, createdAt) VALUES (?, ?, 0)');
      const voter = (i: number) => String(400000000000000000n + BigInt(i));
      const votersFilled = fillUntilFull((i) => insertVote.run(voter(i), before.designId));
      const insertRun = raw.prepare(`INSERT INTO TrainingRun ("trigger", startedAt) VALUES ('c', 0)`);
      fillUntilFull(() => insertRun.run());
      raw.close();
      const [{ page_count }] = await db.$queryRawUnsafe<{ page_count: bigint }[]>('PRAGMA page_count');
      await db.$queryRawUnsafe(`PRAGMA max_page_count = ${Number(page_count)}`);
      const [votesWhenFull, runsWhenFull] = [await db.vote.count(), await db.trainingRun.count()];
      const designsWhenFull = await db.design.count();

      // /shoe: the storage message, privately.
      const shoe = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count: 1 }, user: ALICE }));
      expect(shoe.ephemeral).toBe(true);
      expect(shoe.message.content).toContain("I can't store designs or votes right now: the bot's storage is full");

      // 20 votes meanwhile: none stored, none logged one by one at error level.
      for (let k = 0; k < 20; k++)
        h.fake.addReaction({ messageId: before.messageId, emoji: '👍', user: h.fake.user(voter(votersFilled + k)) });
      await waitUntil(
        '20 votes were refused',
        () => linesWith(h, 'vote not recorded: storage unavailable').length === 20,
      );
      expect(await db.vote.count()).toBe(votesWhenFull);
      expect(linesWith(h, '"msg":"vote not recorded"')).toEqual([]);

      // /train run: not "Training started", and no run row, no trainer child.
      const train = await h.fake.waitForReply(
        h.fake.sendCommand({ name: 'train', subcommand: 'run', options: { steps: 2 }, user: ADMIN_ID }),
      );
      expect(train.message.content).not.toContain('Training started');
      expect(train.message.content).toContain("Not started: the run could not be recorded (the bot's storage is full");
      expect(await db.trainingRun.count()).toBe(runsWhenFull);
      await h.bot.scheduler!.waitIdle();
      expect(h.bot.scheduler!.state).toBe('idle');

      // The operator: exactly one line about it, naming the file.
      const full = linesWith(h, FULL_LINE);
      expect(full).toHaveLength(1);
      expect(JSON.parse(full[0]).path).toBe(dbPath);
      expect(await db.design.count()).toBe(designsWhenFull);

      // Space freed: designs and votes are stored again, the database is intact, and that is logged once.
      await db.$queryRawUnsafe('PRAGMA max_page_count = 1073741823');
      const after = await postShoe(h);
      h.fake.addReaction({ messageId: after.messageId, emoji: '👍', user: ALICE });
      await waitUntil(
        'the vote is stored',
        async () => (await db.vote.count({ where: { designId: after.designId } })) === 1,
      );
      expect(linesWith(h, 'the database storage accepts writes again')).toHaveLength(1);
      expect(await db.$queryRawUnsafe('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    } finally {
      await h.close();
    }
  }, 120_000);
});

describe('the database file deleted or replaced under the running bot', () => {
  for (const how of ['deleted', 'replaced'] as const) {
    it(`${how}: stops writing with one clear log line and tells users storage is unavailable`, async () => {
      const h = await startHarness();
      try {
        const before = await postShoe(h);
        const dbPath = path.join(h.dir, 'bot.db');
        for (const suffix of ['', '-wal', '-shm']) fs.rmSync(dbPath + suffix, { force: true });
        if (how === 'replaced') fs.writeFileSync(dbPath, ''); // e.g. a restore from the wrong backup, or a new empty file

        const shoe = await h.fake.waitForReply(
          h.fake.sendCommand({ name: 'shoe', options: { count: 1 }, user: ALICE }),
        );
        expect(shoe.ephemeral).toBe(true);
        expect(shoe.message.content).toContain(
          "I can't store designs or votes right now: the bot's database is unavailable",
        );
        for (let k = 0; k < 5; k++)
          h.fake.addReaction({ messageId: before.messageId, emoji: '👍', user: h.fake.user(`1000000000000002${k}0`) });
        await waitUntil(
          '5 votes were refused',
          () => linesWith(h, 'vote not recorded: storage unavailable').length === 5,
        );
        const lines = linesWith(h, `the database file was ${how} while the bot was running`);
        expect(lines).toHaveLength(1);
        expect(JSON.parse(lines[0]).path).toBe(dbPath);
        // Nothing was written into the unlinked file meanwhile either (reads still see it).
        expect(await h.bot.ctx.store.db.vote.count()).toBe(0);
      } finally {
        await h.close();
      }
    }, 60_000);
  }
});
