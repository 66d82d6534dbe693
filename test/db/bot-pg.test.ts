/**
 * The whole bot on PostgreSQL: /shoe stores designs, reactions become votes (replays counted once,
 * removals delete), /gallery ranks them, all through the real client against fake Discord.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { VoteEvent } from '../../src/bot/votes.ts';
import { providerOf } from '../../src/db/client.ts';
import { ALICE, BOB, expectNoUnhandled, sleep, startHarness, type Harness } from '../bot/harness.ts';
import { freshPgDatabase } from '../setup/pg-url.ts';

let h: Harness;
const events: VoteEvent[] = [];

async function until(pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out');
    await sleep(20);
  }
}

beforeAll(async () => {
  h = await startHarness({
    env: { DATABASE_URL: await freshPgDatabase() },
    bot: { onVote: (e) => void events.push(e) },
  });
});
afterAll(async () => {
  await h?.close();
});
afterEach(() => expectNoUnhandled());

describe('the bot on PostgreSQL', () => {
  it('stores designs and votes from reactions, and ranks them in /gallery', async () => {
    expect(providerOf(h.bot.ctx.store.db)).toBe('postgresql');
    const reply = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count: 4 }, user: ALICE }));
    await h.fake.waitForRequest(
      (r) => r.method === 'PUT' && r.route.endsWith(`/messages/${reply.message.id}/reactions/4️⃣/@me`),
    );
    const designs = await h.bot.ctx.store.findDesignsByMessage(reply.message.id);
    expect(designs).toHaveLength(4);

    h.fake.addReaction({ messageId: reply.message.id, emoji: '3️⃣', user: ALICE });
    h.fake.addReaction({ messageId: reply.message.id, emoji: '3️⃣', user: ALICE, record: false }); // a replay
    h.fake.addReaction({ messageId: reply.message.id, emoji: '3️⃣', user: BOB });
    h.fake.addReaction({ messageId: reply.message.id, emoji: '1️⃣', user: BOB });
    await until(() => events.filter((e) => e.kind === 'add').length === 4);
    // Events are handled concurrently: compare without order. Only the replay changed nothing.
    const adds = events
      .filter((e) => e.kind === 'add')
      .map((e) => `${e.userId === ALICE ? 'alice' : 'bob'} ${e.designId} ${e.changed}`);
    expect(adds.sort()).toEqual(
      [
        `alice ${designs[2].id} true`,
        `alice ${designs[2].id} false`,
        `bob ${designs[2].id} true`,
        `bob ${designs[0].id} true`,
      ].sort(),
    );
    const votes = await h.bot.ctx.store.db.vote.findMany({
      where: { designId: designs[2].id },
      orderBy: { userId: 'asc' },
    });
    expect(votes.map((v) => v.userId)).toEqual([ALICE, BOB]);

    h.fake.removeReaction({ messageId: reply.message.id, emoji: '1️⃣', user: BOB });
    await until(() => events.some((e) => e.kind === 'remove'));
    expect(await h.bot.ctx.store.db.vote.count({ where: { designId: designs[0].id } })).toBe(0);

    const gallery = await h.fake.waitForReply(h.fake.sendCommand({ name: 'gallery', user: BOB }));
    expect(gallery.message.content).toContain(`#${designs[2].id}`);

    // Community mode reads the votes through its own queries (src/db/steering.ts) on PostgreSQL too.
    const community = await h.fake.waitForReply(
      h.fake.sendCommand({ name: 'shoe', options: { mode: 'community' }, user: ALICE }),
    );
    expect(community.message.content).toContain('This server has votes on 1 design so far');
  });
});
