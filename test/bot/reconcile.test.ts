/**
 * Reconcile: votes made while the bot could not see them (stopped, a gateway session that could not
 * resume) or store them (a full database) are read back from Discord's REST API and the Vote table
 * made to match exactly; the bot's and other bots' reactions are ignored, deleted messages left as
 * they are, and live reactions during a reconcile win over its older snapshot.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DestinationStream } from 'pino';
import { startBot, type Bot } from '../../src/bot/bot.ts';
import type { ReconcileReason, ReconcileReport } from '../../src/bot/reconcile.ts';
import { voteEmojiFor } from '../../src/bot/votes.ts';
import { StorageUnavailableError } from '../../src/db/storage-health.ts';
import { createLogger } from '../../src/log.ts';
import { ALICE, BOB, expectNoUnhandled, sleep, startHarness, tinyGenerator, type Harness } from './harness.ts';
import { expectedVotes, member, reactionStorm, storedVotes } from './reaction-storm.ts';

let h: Harness;
let bot: Bot;

beforeAll(async () => {
  h = await startHarness();
  bot = h.bot;
});
afterAll(async () => {
  await bot?.stop();
  await h?.close();
});
afterEach(() => expectNoUnhandled());

/** A message the bot posted (as by an earlier run): `count` designs, the bot's own vote reactions seeded. */
async function designMessage(count: number): Promise<{ id: string; designIds: number[] }> {
  const msg = h.fake.postBotMessage({ content: 'designs' });
  const designs = await bot.ctx.store.createDesigns(
    Array.from({ length: count }, (_, i) => ({
      seed: 1,
      gridIndex: i,
      latent: new Float32Array(16),
      checkpointVersion: 'test-v1',
      guildId: h.fake.guild.id,
      channelId: h.fake.channelId,
      requesterId: ALICE,
    })),
  );
  await bot.ctx.store.attachMessage(
    designs.map((d) => d.id),
    msg.id,
  );
  for (const e of voteEmojiFor(count)) msg.reactions.set(e, new Set([h.fake.botUser.id]));
  return { id: msg.id, designIds: designs.map((d) => d.id) };
}

async function until(what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const t0 = performance.now();
  while (!(await pred())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

/** The next reconcile report for `reason` after `after` reports. */
async function nextReport(reason: ReconcileReason, after: number): Promise<ReconcileReport> {
  await until(`a reconcile (${reason})`, () =>
    bot.votes.reconciler.reports.slice(after).some((r) => r.reason === reason),
  );
  await bot.votes.reconciler.idle();
  return bot.votes.reconciler.reports.slice(after).find((r) => r.reason === reason)!;
}

const ids = (ms: { id: string }[]) => ms.map((m) => m.id);

describe('reconcile', () => {
  it('after a restart: votes added and removed while the bot was stopped are caught up, exactly', async () => {
    const msgs = [await designMessage(4), await designMessage(4), await designMessage(2), await designMessage(1)];
    const gone = await designMessage(4);
    // Live votes while the bot runs.
    h.fake.addReaction({ messageId: msgs[0].id, emoji: '1️⃣', user: ALICE });
    h.fake.addReaction({ messageId: msgs[1].id, emoji: '3️⃣', user: BOB });
    h.fake.addReaction({ messageId: gone.id, emoji: '2️⃣', user: BOB });
    await until('3 live votes', async () => (await bot.ctx.store.db.vote.count()) === 3);

    await bot.stop();
    // While it is stopped: 130 members on one emoji (two pages of 100), an un-react, another bot's
    // reaction, a non-vote emoji, and a design message deleted by a moderator.
    for (let i = 0; i < 130; i++) h.fake.addReaction({ messageId: msgs[0].id, emoji: '2️⃣', user: member(i) });
    h.fake.removeReaction({ messageId: msgs[1].id, emoji: '3️⃣', user: BOB });
    h.fake.addReaction({ messageId: msgs[1].id, emoji: '4️⃣', user: ALICE });
    const otherBot = h.fake.user('400000000000000099', 'otherbot');
    otherBot.bot = true;
    h.fake.addReaction({ messageId: msgs[2].id, emoji: '2️⃣', user: otherBot });
    h.fake.addReaction({ messageId: msgs[2].id, emoji: '🔥', user: BOB });
    h.fake.addReaction({ messageId: msgs[3].id, emoji: '👍', user: BOB });
    h.fake.deleteMessage(gone.id);

    const from = h.logLines.length;
    const dest: DestinationStream = { write: (l: string) => void h.logLines.push(l) };
    bot = await startBot({
      config: h.config,
      log: createLogger({ level: 'debug', destination: dest }),
      generator: tinyGenerator(),
      trainer: false,
    });
    await bot.ready;
    const report = await nextReport('start-up', 0);
    expect(await storedVotes(bot.ctx.store, ids(msgs))).toEqual(await expectedVotes(h.fake, bot.ctx.store, ids(msgs)));
    expect(await storedVotes(bot.ctx.store, ids(msgs))).toHaveLength(1 + 130 + 1 + 1);
    // The deleted message's vote is kept (Discord cannot say anything about it any more).
    expect(await bot.ctx.store.db.vote.count({ where: { designId: { in: gone.designIds } } })).toBe(1);
    expect(report).toMatchObject({ messages: 4, unreadable: 1, failed: 0, added: 132, removed: 1 });
    // One structured line per reconcile.
    const logged = h.logLines
      .slice(from)
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === 'votes reconciled');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ reason: 'start-up', messages: 4, unreadable: 1, added: 132, removed: 1 });
    expect(typeof logged[0].ms).toBe('number');
    // Paged like Discord: limit=100, then after= the last id of the full page.
    const reads = h.fake.requests.filter(
      (r) => r.method === 'GET' && r.route === `/channels/${h.fake.channelId}/messages/${msgs[0].id}/reactions/2️⃣`,
    );
    expect(reads.map((r) => r.query)).toEqual([{ limit: '100' }, { limit: '100', after: member(99) }]);
  }, 60_000);

  it('after a gateway session that could not resume (fresh IDENTIFY)', async () => {
    const msg = await designMessage(4);
    const before = bot.votes.reconciler.reports.length;
    const identified = h.fake.identifyCount;
    h.fake.dropConnections({ invalidate: true });
    // Made while the bot has no session: Discord would never deliver these.
    h.fake.addReaction({ messageId: msg.id, emoji: '4️⃣', user: ALICE });
    h.fake.addReaction({ messageId: msg.id, emoji: '1️⃣', user: BOB });
    const report = await nextReport('new gateway session', before);
    expect(h.fake.identifyCount).toBe(identified + 1);
    expect(report.added).toBeGreaterThanOrEqual(2);
    expect(await storedVotes(bot.ctx.store, [msg.id])).toEqual(await expectedVotes(h.fake, bot.ctx.store, [msg.id]));
    expect(await storedVotes(bot.ctx.store, [msg.id])).toHaveLength(2);
  }, 60_000);

  it('lets live events that arrive after Discord was read win over the snapshot', async () => {
    const msg = await designMessage(4);
    const [d0, d1, d2, d3] = msg.designIds;
    const store = bot.ctx.store;
    await store.addVote(BOB, d1); // BOB un-reacts after the read: the snapshot still shows him
    await store.addVote(ALICE, d3); // stale: not in the snapshot, no live event
    const writer = bot.votes.writer;
    const stopWatching = writer.watch();
    try {
      const since = writer.mark; // Discord is read now...
      writer.push({ kind: 'add', userId: ALICE, messageId: msg.id, emoji: '1️⃣' }); // ...then these arrive
      writer.push({ kind: 'remove', userId: BOB, messageId: msg.id, emoji: '2️⃣' });
      const result = await writer.snapshot({
        messageId: msg.id,
        guildId: h.fake.guild.id,
        since,
        designs: [
          { designId: d0, emoji: '1️⃣', userIds: new Set() },
          { designId: d1, emoji: '2️⃣', userIds: new Set([BOB]) },
          { designId: d2, emoji: '3️⃣', userIds: new Set([member(7)]) },
          { designId: d3, emoji: '4️⃣', userIds: new Set() },
        ],
      });
      expect(result).toEqual({ added: 1, removed: 1 });
    } finally {
      stopWatching();
    }
    const votes = (await store.db.vote.findMany({ where: { designId: { in: msg.designIds } } }))
      .map((v) => `${v.designId}:${v.userId}`)
      .sort();
    expect(votes).toEqual([`${d0}:${ALICE}`, `${d2}:${member(7)}`].sort());
  });

  it('stays exact with a reaction storm during a rate-limited reconcile', async () => {
    const msgs = [];
    for (let i = 0; i < 30; i++) msgs.push(await designMessage(i % 3 === 0 ? 1 : 4));
    // Offline state for the reconcile to find, then a storm while it reads (every 3rd read: 429).
    for (const [i, m] of msgs.entries())
      for (let u = 0; u < 5; u++)
        h.fake
          .channelMessages()
          .find((x) => x.id === m.id)!
          .reactions.get(voteEmojiFor(i % 3 === 0 ? 1 : 4)[u % (i % 3 === 0 ? 1 : 4)])!
          .add(member(500 + u));
    h.fake.reactionReadLimit = { every: 3, retryAfterSeconds: 0.05 };
    try {
      const before = bot.votes.reconciler.reports.length;
      const since = h.fake.mark();
      bot.votes.reconciler.request('start-up');
      let seen = 0;
      const stopCounting = (() => {
        const onVote = () => void seen++;
        bot.client.on('messageReactionAdd', onVote);
        bot.client.on('messageReactionRemove', onVote);
        return () => (bot.client.off('messageReactionAdd', onVote), bot.client.off('messageReactionRemove', onVote));
      })();
      const sent = await reactionStorm(h.fake, {
        seed: 21,
        messages: msgs.map((m, i) => ({ id: m.id, designs: i % 3 === 0 ? 1 : 4 })),
        members: 20,
        events: 300,
        maxBurst: 30,
        maxGapMs: 50,
      });
      const report = await nextReport('start-up', before);
      await until('every storm event received', () => seen >= sent);
      stopCounting();
      await bot.votes.writer.drain();
      expect(report.failed).toBe(0);
      expect(h.fake.requests.filter((r) => r.seq > since && r.status === 429).length).toBeGreaterThan(0);
      expect(await storedVotes(bot.ctx.store, ids(msgs))).toEqual(
        await expectedVotes(h.fake, bot.ctx.store, ids(msgs)),
      );
    } finally {
      h.fake.reactionReadLimit = undefined;
    }
  }, 120_000);

  it('after the storage accepts votes again: votes cast while it was full are caught up', async () => {
    const msg = await designMessage(4);
    const db = bot.ctx.store.db;
    const [{ page_count }] = await db.$queryRawUnsafe<{ page_count: bigint }[]>('PRAGMA page_count');
    await db.$queryRawUnsafe(`PRAGMA max_page_count = ${Number(page_count)}`);
    try {
      // Fill what is left of the file's pages with votes until SQLite says SQLITE_FULL.
      let full: unknown;
      for (let i = 0; i < 100_000 && !full; i++)
        await bot.ctx.store.addVote(`filler${i}`, msg.designIds[3]).catch((e) => (full = e));
      expect(full).toBeInstanceOf(StorageUnavailableError);
      const before = bot.votes.reconciler.reports.length;
      for (let u = 0; u < 10; u++) h.fake.addReaction({ messageId: msg.id, emoji: '1️⃣', user: member(600 + u) });
      await until(
        'the 10 votes were refused',
        () => h.logLines.filter((l) => l.includes('vote not recorded: storage unavailable')).length >= 10,
      );
      await db.$queryRawUnsafe('PRAGMA max_page_count = 1073741823');
      await db.vote.deleteMany({ where: { userId: { startsWith: 'filler' } } });
      h.fake.addReaction({ messageId: msg.id, emoji: '2️⃣', user: ALICE }); // the first vote stored again
      const report = await nextReport('storage recovered', before);
      expect(report.failed).toBe(0);
      expect(await storedVotes(bot.ctx.store, [msg.id])).toEqual(await expectedVotes(h.fake, bot.ctx.store, [msg.id]));
      expect(await storedVotes(bot.ctx.store, [msg.id])).toHaveLength(11);
    } finally {
      await db.$queryRawUnsafe('PRAGMA max_page_count = 1073741823');
    }
  }, 120_000);
});
