/**
 * Votes from reactions, end to end through the real client and Prisma:
 * added, removed, replayed/duplicated, on uncached messages (partials), and
 * ignored for the bot's own reactions, other emoji and other messages.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { VoteEvent } from '../../src/bot/votes.ts';
import { runTraining } from '../../src/gan/training-loop.ts';
import { latentsForSeed } from '../../src/gan/latent.ts';
import { resizeTile } from '../../src/bot/gallery-draw.ts';
import { ALICE, BOB, expectNoUnhandled, pngSize, sleep, startHarness, tinyGenerator, type Harness } from './harness.ts';

let h: Harness;
const events: VoteEvent[] = [];
const waiters: { pred: (e: VoteEvent) => boolean; resolve: () => void }[] = [];

function waitForVote(pred: (e: VoteEvent) => boolean, timeoutMs = 5000): Promise<void> {
  if (events.some(pred)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timed out waiting for a vote event')), timeoutMs);
    waiters.push({ pred, resolve: () => (clearTimeout(t), resolve()) });
  });
}

beforeAll(async () => {
  h = await startHarness({
    bot: {
      onVote: (e) => {
        events.push(e);
        for (const w of [...waiters]) if (w.pred(e)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
      },
    },
  });
});
afterAll(async () => {
  await h?.close();
});
afterEach(() => expectNoUnhandled());

async function postShoe(count: number, user = ALICE) {
  const reply = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count }, user }));
  const last = count === 1 ? '👍' : ['1️⃣', '2️⃣', '3️⃣', '4️⃣'][count - 1];
  await h.fake.waitForRequest(
    (r) => r.method === 'PUT' && r.route.endsWith(`/messages/${reply.message.id}/reactions/${last}/@me`),
  );
  return { message: reply.message, designs: await h.bot.ctx.store.findDesignsByMessage(reply.message.id) };
}

const votesFor = (designId: number) =>
  h.bot.ctx.store.db.vote.findMany({ where: { designId }, orderBy: { userId: 'asc' } });

describe('votes from reactions', () => {
  it('/gallery before any vote says how to get one', async () => {
    const r = await h.fake.waitForReply(h.fake.sendCommand({ name: 'gallery', user: ALICE }));
    expect(r.ephemeral).toBe(true);
    expect(r.message.content).toContain('No votes yet in this server');
  });

  it("counts a member's reaction once, ignores the bot's own, other emoji and replays, and removes on un-react", async () => {
    const { message, designs } = await postShoe(4);
    // The bot's own four seeded reactions reached it over the gateway too: no votes.
    await sleep(100);
    expect(await h.bot.ctx.store.db.vote.count({ where: { designId: { in: designs.map((d) => d.id) } } })).toBe(0);

    h.fake.addReaction({ messageId: message.id, emoji: '🔥', user: ALICE }); // not a vote emoji
    h.fake.addReaction({ messageId: message.id, emoji: '2️⃣', user: ALICE });
    await waitForVote((e) => e.kind === 'add' && e.userId === ALICE && e.designId === designs[1].id);
    // Replays of the same event (Discord redelivers after a resume) count once.
    h.fake.addReaction({ messageId: message.id, emoji: '2️⃣', user: ALICE, record: false });
    h.fake.addReaction({ messageId: message.id, emoji: '2️⃣', user: ALICE, record: false });
    h.fake.addReaction({ messageId: message.id, emoji: '4️⃣', user: BOB });
    h.fake.addReaction({ messageId: message.id, emoji: '2️⃣', user: BOB });
    await waitForVote((e) => e.userId === BOB && e.designId === designs[1].id);
    await waitForVote((e) => e.userId === BOB && e.designId === designs[3].id);
    await sleep(100);
    expect((await votesFor(designs[1].id)).map((v) => v.userId)).toEqual([ALICE, BOB]);
    expect((await votesFor(designs[3].id)).map((v) => v.userId)).toEqual([BOB]);
    expect(await votesFor(designs[0].id)).toEqual([]);
    const dup = events.filter((e) => e.userId === ALICE && e.designId === designs[1].id && e.kind === 'add');
    expect(dup.map((e) => e.changed)).toEqual([true, false, false]);

    h.fake.removeReaction({ messageId: message.id, emoji: '2️⃣', user: ALICE });
    await waitForVote((e) => e.kind === 'remove' && e.userId === ALICE);
    expect((await votesFor(designs[1].id)).map((v) => v.userId)).toEqual([BOB]);
    // Removing twice is harmless.
    h.fake.removeReaction({ messageId: message.id, emoji: '2️⃣', user: ALICE });
    await waitForVote((e) => e.kind === 'remove' && e.userId === ALICE && !e.changed);
    expect((await votesFor(designs[1].id)).map((v) => v.userId)).toEqual([BOB]);
  });

  it('uses 👍 for a single design and ignores digits there', async () => {
    const { message, designs } = await postShoe(1);
    h.fake.addReaction({ messageId: message.id, emoji: '1️⃣', user: BOB });
    h.fake.addReaction({ messageId: message.id, emoji: '👍', user: BOB });
    await waitForVote((e) => e.userId === BOB && e.designId === designs[0].id);
    await sleep(50);
    expect((await votesFor(designs[0].id)).map((v) => v.userId)).toEqual([BOB]);
  });

  it('ignores emoji past the number of designs and messages that are not designs', async () => {
    const { message, designs } = await postShoe(2);
    const n0 = events.length;
    h.fake.addReaction({ messageId: message.id, emoji: '3️⃣', user: BOB });
    h.fake.addReaction({ messageId: '123456789012345678', emoji: '1️⃣', user: BOB });
    h.fake.addReaction({ messageId: message.id, emoji: '1️⃣', user: BOB });
    await waitForVote((e) => e.userId === BOB && e.designId === designs[0].id);
    await sleep(100);
    expect(events.slice(n0).map((e) => e.designId)).toEqual([designs[0].id]);
  });

  it('counts reactions on messages the client never saw (from before a restart)', async () => {
    // A design message posted by an earlier run of the bot: only in the database.
    const gen = tinyGenerator();
    gen.model.dispose();
    const [d1, d2] = await h.bot.ctx.store.createDesigns(
      [0, 1].map((i) => ({
        seed: 5,
        gridIndex: i,
        latent: new Float32Array(16),
        checkpointVersion: 'old',
        kind: 'shoe' as const,
        guildId: h.fake.guild.id,
        channelId: h.fake.channelId,
        requesterId: ALICE,
      })),
    );
    const oldMessageId = '987654321098765432';
    await h.bot.ctx.store.attachMessage([d1.id, d2.id], oldMessageId);
    expect(h.bot.client.channels.cache.get(h.fake.channelId)).toBeDefined();
    h.fake.addReaction({ messageId: oldMessageId, emoji: '2️⃣', user: BOB });
    await waitForVote((e) => e.messageId === oldMessageId && e.userId === BOB);
    expect((await votesFor(d2.id)).map((v) => v.userId)).toEqual([BOB]);
    h.fake.removeReaction({ messageId: oldMessageId, emoji: '2️⃣', user: BOB });
    await waitForVote((e) => e.messageId === oldMessageId && e.kind === 'remove');
    expect(await votesFor(d2.id)).toEqual([]);
  });

  it('receives reaction events only because it asked for the GuildMessageReactions intent', () => {
    const identify = h.fake.gatewayLog.find((g) => g.dir === 'in' && g.op === 2);
    expect(identify!.d.intents & (1 << 10)).toBeTruthy();
  });

  it('/gallery shows the most-voted designs of the server with their counts', async () => {
    const { message, designs } = await postShoe(3, BOB);
    for (const u of ['400000000000000001', '400000000000000002', '400000000000000003'])
      h.fake.addReaction({ messageId: message.id, emoji: '3️⃣', user: u });
    await waitForVote((e) => e.userId === '400000000000000003' && e.designId === designs[2].id);
    await waitForVote((e) => e.userId === '400000000000000001' && e.designId === designs[2].id);
    await waitForVote((e) => e.userId === '400000000000000002' && e.designId === designs[2].id);
    const r = await h.fake.waitForReply(h.fake.sendCommand({ name: 'gallery', options: { top: 3 }, user: ALICE }));
    expect(r.ephemeral).toBe(false);
    const lines = r.message.content.split('\n');
    expect(lines[0]).toBe('**Top 3 sneaker designs of this server**');
    expect(lines[1]).toContain(`1. design #${designs[2].id} · 3 votes · by <@${BOB}>`);
    expect(lines[2]).toMatch(/^2\. design #\d+ · 1 vote/);
    expect(r.message.attachments[0].filename).toBe('gallery.png');
    const bad = await h.fake.waitForReply(h.fake.sendCommand({ name: 'gallery', options: { top: 99 }, user: ALICE }));
    expect(bad.ephemeral).toBe(true);
    expect(bad.message.content).toContain('`top` must be a whole number from 1 to 16');
  });

  it('/gallery draws voted designs of a checkpoint with another image size too (tiles resampled, none dropped)', async () => {
    // A real 64 px checkpoint on disk (1 training step), its design voted more than anything else.
    const per = 64 * 64;
    const img = (n: number) => {
      const a = new Uint8Array(n * per);
      for (let i = 0; i < n; i++)
        for (let y = 16; y < 48; y++) for (let x = 8; x < 56; x++) a[i * per + y * 64 + x] = 200;
      return a;
    };
    const big = await runTraining({
      modelsDir: h.config.MODELS_DIR,
      dataset: {
        meta: {
          name: 'big',
          source: 'test',
          height: 64,
          width: 64,
          channels: 1,
          trainCount: 4,
          heldoutCount: 2,
          fingerprint: 'big',
          background: 'black',
          formatVersion: 1,
        },
        train: img(4),
        heldout: img(2),
      },
      steps: 1,
      config: { imageSize: 64, channels: 1, nz: 16, ngf: 4, ndf: 4 },
      trainOptions: { batchSize: 2 },
      evaluate: false,
      seed: 5,
    });
    const [design] = await h.bot.ctx.store.createDesigns([
      {
        seed: 7,
        gridIndex: 0,
        latent: latentsForSeed(7, 1, 16),
        checkpointVersion: big.version!,
        kind: 'shoe',
        parentId: null,
        guildId: h.fake.guild.id,
        channelId: 'c',
        requesterId: ALICE,
      },
    ]);
    for (let i = 0; i < 5; i++) await h.bot.ctx.store.addVote(`50000000000000000${i}`, design.id);
    const r = await h.fake.waitForReply(h.fake.sendCommand({ name: 'gallery', options: { top: 4 }, user: ALICE }));
    expect(r.ephemeral).toBe(false);
    const lines = r.message.content.split('\n');
    const n = Number(/^\*\*Top (\d+) sneaker designs/.exec(lines[0])?.[1]);
    expect(n).toBeGreaterThanOrEqual(2); // earlier tests voted on 32 px designs of the active generator
    expect(lines[1]).toContain(`1. design #${design.id} · 5 votes`);
    expect(lines[1]).toContain('seed `7`');
    expect(r.message.content).not.toContain('left out');
    // n tiles of 192 px in one row: the 32 px designs were drawn next to the 64 px one.
    expect(lines).toHaveLength(n + 1);
    expect(pngSize(r.message.attachments[0].data).width).toBeGreaterThanOrEqual(n * 192);
  });

  it('resizeTile resamples nearest-neighbour and repeats grey into RGB', () => {
    const px = new Float32Array([-1, 1, 0.5, 0]); // 2x2 grey
    expect([...resizeTile(px, { h: 2, w: 2, c: 1 }, { h: 2, w: 2, c: 1 })]).toEqual([-1, 1, 0.5, 0]);
    const up = resizeTile(px, { h: 2, w: 2, c: 1 }, { h: 4, w: 4, c: 3 });
    expect(up.length).toBe(48);
    expect([...up.slice(0, 6)]).toEqual([-1, -1, -1, -1, -1, -1]);
    expect([...up.slice(6, 9)]).toEqual([1, 1, 1]);
    expect([...up.slice(45, 48)]).toEqual([0, 0, 0]);
  });
});
