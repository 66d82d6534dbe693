/**
 * Votes under real reaction traffic: hundreds of adds and removes from many members, in bursts with
 * gaps of 0-250 ms (seeded), through the fake Discord's gateway, on cached messages and, after a
 * restart, on uncached ones (partials). Afterwards the Vote table must equal the reactions left,
 * exactly: a member's add -> remove applied remove-first would leave a vote behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot, type Bot } from '../../src/bot/bot.ts';
import type { VoteEvent } from '../../src/bot/votes.ts';
import { createLogger } from '../../src/log.ts';
import { ALICE, expectNoUnhandled, sleep, startHarness, tinyGenerator, type Harness } from './harness.ts';
import { expectedVotes, reactionStorm, storedVotes } from './reaction-storm.ts';

let h: Harness;
let bot: Bot;
let seen = 0;
const onVote = (_e: VoteEvent) => void seen++;

beforeAll(async () => {
  h = await startHarness({ bot: { onVote } });
  bot = h.bot;
});
afterAll(async () => {
  await bot?.stop();
  await h?.close();
});

async function postShoe(count: number): Promise<{ id: string; designs: number }> {
  const reply = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count }, user: ALICE }));
  const last = count === 1 ? '👍' : ['1️⃣', '2️⃣', '3️⃣', '4️⃣'][count - 1];
  await h.fake.waitForRequest(
    (r) => r.method === 'PUT' && r.route.endsWith(`/messages/${reply.message.id}/reactions/${last}/@me`),
  );
  return { id: reply.message.id, designs: count };
}

/** Waits until the bot has stored `n` vote events (every storm event is a vote). */
async function storedEvents(n: number, timeoutMs = 60_000): Promise<void> {
  const t0 = performance.now();
  while (seen < n) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`only ${seen} of ${n} vote events stored`);
    await sleep(20);
  }
}

describe('a reaction storm', () => {
  let messages: { id: string; designs: number }[];

  it('leaves exactly the votes whose reactions are still present', async () => {
    messages = [await postShoe(4), await postShoe(4), await postShoe(2), await postShoe(1)];
    seen = 0;
    const sent = await reactionStorm(h.fake, { seed: 11, messages, members: 50, events: 700 });
    await storedEvents(sent);
    const expected = await expectedVotes(
      h.fake,
      bot.ctx.store,
      messages.map((m) => m.id),
    );
    expect(expected.length).toBeGreaterThan(20); // the storm leaves votes, not only removals
    expect(
      await storedVotes(
        bot.ctx.store,
        messages.map((m) => m.id),
      ),
    ).toEqual(expected);
    expectNoUnhandled();
  }, 120_000);

  it('after a restart too, where every message arrives uncached (partials)', async () => {
    await bot.stop();
    bot = await startBot({
      config: h.config,
      log: createLogger({ level: 'silent' }),
      generator: tinyGenerator(),
      trainer: false,
      onVote,
    });
    await bot.ready;
    await bot.votes.reconciler.idle(); // the start-up reconcile finds nothing to change
    expect(bot.votes.reconciler.reports.at(-1)).toMatchObject({ reason: 'start-up', added: 0, removed: 0 });
    const channel = bot.client.channels.cache.get(h.fake.channelId);
    expect(channel?.isTextBased() && channel.messages.cache.size).toBe(0); // none of the storm's messages is cached
    seen = 0;
    const sent = await reactionStorm(h.fake, { seed: 12, messages, members: 50, events: 500, maxBurst: 80 });
    await storedEvents(sent);
    expect(
      await storedVotes(
        bot.ctx.store,
        messages.map((m) => m.id),
      ),
    ).toEqual(
      await expectedVotes(
        h.fake,
        bot.ctx.store,
        messages.map((m) => m.id),
      ),
    );
    expectNoUnhandled();
  }, 120_000);
});
