/**
 * /shoe end to end: real discord.js client + real bot against the fake
 * Discord; PNG upload, seeds, reactions, buttons, bad input, rate limits,
 * batching, a reconnect.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FakeInteraction } from '../fake-discord/models.ts';
import { voteEmojiFor } from '../../src/bot/votes.ts';
import {
  ALICE,
  BOB,
  ADMIN_ID,
  buttonIds,
  expectNoUnhandled,
  numTensors,
  pngSize,
  startHarness,
  type Harness,
} from './harness.ts';

let h: Harness;
let clock = 1_000_000;

beforeAll(async () => {
  h = await startHarness({
    bot: { generation: { rateLimit: { count: 3, windowMs: 60_000 }, now: () => clock } },
  });
});
afterAll(async () => {
  await h?.close();
});
afterEach(() => {
  expectNoUnhandled();
  // Every test starts with a fresh rate-limit window.
  clock += 120_000;
});

/** Waits for a design message: the reply, then all its vote reactions (designs are attached to it by then). */
async function designReply(interaction: FakeInteraction) {
  const reply = await h.fake.waitForReply(interaction);
  if (reply.ephemeral) return { ...reply, designs: [] };
  const lastEmoji = (n: number) => voteEmojiFor(n).at(-1)!;
  // The number of designs is in the message: one "design #id" per design.
  const n = (reply.message.content.match(/(?:\d\uFE0F\u20E3|👍) design #\d+/gu) ?? []).length;
  await h.fake.waitForRequest(
    (r) => r.method === 'PUT' && r.route.endsWith(`/messages/${reply.message.id}/reactions/${lastEmoji(n)}/@me`),
  );
  return { ...reply, designs: await h.bot.ctx.store.findDesignsByMessage(reply.message.id) };
}

const reactionPuts = (messageId: string, since: number) =>
  h.fake.requests
    .filter((r) => r.seq >= since && r.method === 'PUT' && r.route.includes(`/messages/${messageId}/reactions/`))
    .map((r) => r.route.split('/')[6]);

describe('/shoe', () => {
  it('registers the commands in the configured guild on start', () => {
    const cmds = h.fake.commands.guild.get(h.fake.guild.id) ?? [];
    const shoe = cmds.find((c) => c.name === 'shoe');
    expect(shoe).toBeDefined();
    expect(shoe!.options!.map((o) => [o.name, o.type])).toEqual([
      ['count', 4],
      ['seed', 4],
      ['mode', 3],
      ['strength', 10],
    ]);
    expect(h.fake.commands.global).toEqual([]);
  });

  it('replies with a PNG grid, the seed, the checkpoint, design ids and buttons, then seeds vote reactions', async () => {
    const since = h.fake.mark();
    const it1 = h.fake.sendCommand({ name: 'shoe', options: { count: 2, seed: 42 }, user: ALICE });
    const reply = await designReply(it1);
    expect(reply.ephemeral).toBe(false);
    const msg = reply.message;
    expect(msg.content).toContain('seed `42`');
    expect(msg.content).toContain('checkpoint `test-v1`');
    expect(msg.attachments).toHaveLength(1);
    expect(msg.attachments[0].content_type).toBe('image/png');
    // 2 designs side by side, 256 px tiles (+ gaps and labels).
    const size = pngSize(msg.attachments[0].data);
    expect(size.width).toBeGreaterThanOrEqual(512);
    const designs = reply.designs;
    expect(designs.map((d) => [d.seed, d.gridIndex, d.checkpointVersion, d.requesterId])).toEqual([
      [42, 0, 'test-v1', ALICE],
      [42, 1, 'test-v1', ALICE],
    ]);
    for (const d of designs) expect(msg.content).toContain(`#${d.id}`);
    expect(buttonIds(msg.components)).toEqual([
      `shoe:var:${designs[0].id}:${ALICE}`,
      `shoe:var:${designs[1].id}:${ALICE}`,
      `shoe:up:${designs[0].id}:${ALICE}`,
      `shoe:up:${designs[1].id}:${ALICE}`,
      `shoe:reroll:2:${ALICE}`,
    ]);
    // The deferral came first (3-second window), then the edit with the file.
    const cb = h.fake.requests.find((r) => r.seq >= since && r.route.startsWith(`/interactions/${it1.id}/`));
    expect(cb?.body.type).toBe(5);
    await h.fake.waitForRequest((r) => r.method === 'PUT' && r.route.endsWith(`/messages/${msg.id}/reactions/2️⃣/@me`), {
      since,
    });
    expect(reactionPuts(msg.id, since)).toEqual(['1️⃣', '2️⃣']);
  });

  it('defaults to 4 designs, and the same seed + checkpoint gives the same image', async () => {
    const a = await designReply(h.fake.sendCommand({ name: 'shoe', options: { seed: 7 }, user: ALICE }));
    const b = await designReply(h.fake.sendCommand({ name: 'shoe', options: { seed: 7 }, user: BOB }));
    const c = await designReply(h.fake.sendCommand({ name: 'shoe', options: { seed: 8 }, user: BOB }));
    expect(a.designs).toHaveLength(4);
    expect(a.message.attachments[0].data.equals(b.message.attachments[0].data)).toBe(true);
    expect(a.message.attachments[0].data.equals(c.message.attachments[0].data)).toBe(false);
    const size = pngSize(a.message.attachments[0].data);
    // 2x2 grid of 256 px tiles.
    expect(size.width).toBeGreaterThanOrEqual(512);
    expect(size.height).toBeGreaterThanOrEqual(512);
  });

  it('answers bad options with an ephemeral, human message and stores nothing', async () => {
    const before = await h.bot.ctx.store.db.design.count();
    for (const [options, text] of [
      [{ count: 9 }, '`count` must be a whole number from 1 to 4'],
      [{ count: 0 }, '`count` must be a whole number from 1 to 4'],
      [{ count: 2.5 }, '`count` must be a whole number from 1 to 4'],
      [{ seed: 'abc' }, '`seed` must be a whole number from 0 to 2147483647'],
      [{ seed: -1 }, '`seed` must be a whole number from 0 to 2147483647'],
      [{ seed: 2 ** 40 }, '`seed` must be a whole number from 0 to 2147483647'],
    ] as const) {
      const r = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options, user: BOB }));
      expect(r.ephemeral).toBe(true);
      expect(r.message.content).toContain(text);
      expect(r.message.attachments).toHaveLength(0);
    }
    expect(await h.bot.ctx.store.db.design.count()).toBe(before);
  });

  it('only the requester may press the buttons; variations and upscale post new design messages', async () => {
    const orig = await designReply(h.fake.sendCommand({ name: 'shoe', options: { count: 3, seed: 99 }, user: ALICE }));
    const designs = orig.designs;
    const ids = buttonIds(orig.message.components);

    const denied = await h.fake.waitForReply(
      h.fake.pressButton({ message: orig.message, customId: ids[0], user: BOB }),
    );
    expect(denied.ephemeral).toBe(true);
    expect(denied.message.content).toContain(`Only <@${ALICE}>`);

    const vars = await designReply(
      h.fake.pressButton({ message: orig.message, customId: `shoe:var:${designs[1].id}:${ALICE}`, user: ALICE }),
    );
    expect(vars.ephemeral).toBe(false);
    expect(vars.message.id).not.toBe(orig.message.id);
    expect(vars.message.content).toContain(`variations of design #${designs[1].id}`);
    const varDesigns = vars.designs;
    expect(varDesigns).toHaveLength(4);
    expect(varDesigns.every((d) => d.kind === 'variation' && d.parentId === designs[1].id)).toBe(true);
    // A variation seed is not a /shoe seed: labelled so nobody expects /shoe seed:X to redraw these.
    expect(vars.message.content).toContain(`variation seed \`${varDesigns[0].seed}\``);
    expect(vars.message.content).not.toContain(' · seed `');
    expect(orig.message.content).toContain(' · seed `99`');

    const up = await designReply(
      h.fake.pressButton({ message: orig.message, customId: `shoe:up:${designs[2].id}:${ALICE}`, user: ALICE }),
    );
    expect(up.message.content).toContain(`Design #${designs[2].id}, upscaled`);
    expect(pngSize(up.message.attachments[0].data)).toEqual({ width: 512, height: 512 });
    const upDesigns = up.designs;
    expect(upDesigns.map((d) => [d.kind, d.parentId])).toEqual([['upscale', designs[2].id]]);
    // The latent is the original design's: same bytes.
    expect(Buffer.from(upDesigns[0].latent).equals(Buffer.from(designs[2].latent))).toBe(true);
    // No Upscale on an upscale (it would store the same pixels as yet another design).
    const upIds = buttonIds(up.message.components);
    expect(upIds).toContain(`shoe:var:${upDesigns[0].id}:${ALICE}`);
    expect(upIds.some((id) => id.startsWith('shoe:up:'))).toBe(false);
    const count0 = await h.bot.ctx.store.db.design.count();
    const again = await h.fake.waitForReply(
      h.fake.pressButton({ message: up.message, customId: `shoe:up:${upDesigns[0].id}:${ALICE}`, user: ALICE }),
    );
    expect(again.ephemeral).toBe(true);
    expect(again.message.content).toContain('already upscaled');
    expect(await h.bot.ctx.store.db.design.count()).toBe(count0);

    clock += 120_000; // a new rate-limit window (3 per minute in this file)
    const reroll = await designReply(
      h.fake.pressButton({ message: orig.message, customId: `shoe:reroll:3:${ALICE}`, user: ALICE }),
    );
    const rerolled = reroll.designs;
    expect(reroll.message.content).toContain('3 sneaker designs');
    expect(rerolled).toHaveLength(3);
    expect(rerolled[0].seed).not.toBe(99);

    const stale = await h.fake.waitForReply(
      h.fake.pressButton({ message: orig.message, customId: `shoe:var:999999:${ALICE}`, user: ALICE }),
    );
    expect(stale.ephemeral).toBe(true);
    expect(stale.message.content).toContain("I can't find design #999999 in this server");
    const junk = await h.fake.waitForReply(
      h.fake.pressButton({ message: orig.message, customId: 'nonsense', user: ALICE }),
    );
    expect(junk.ephemeral).toBe(true);
  });

  it('rate-limits a user with an ephemeral message; admins are exempt', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count: 1 }, user: BOB }));
      expect(r.ephemeral).toBe(false);
    }
    const limited = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count: 1 }, user: BOB }));
    expect(limited.ephemeral).toBe(true);
    expect(limited.message.content).toMatch(/Try again in \d+ s/);
    // No public "thinking…" message was left behind: the refusal came before deferring.
    expect(limited.callbackType).toBe(4);
    for (let i = 0; i < 4; i++) {
      const r = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count: 1 }, user: ADMIN_ID }));
      expect(r.ephemeral).toBe(false);
    }
    clock += 61_000;
    const again = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count: 1 }, user: BOB }));
    expect(again.ephemeral).toBe(false);
  });

  it('answers concurrent requests from several users correctly and leaks no tensors', async () => {
    const users = [
      '300000000000000001',
      '300000000000000002',
      '300000000000000003',
      '300000000000000004',
      '300000000000000005',
    ];
    const passes0 = h.bot.ctx.generation.stats.passes;
    const tensors0 = numTensors();
    const its = users.map((u, i) =>
      h.fake.sendCommand({ name: 'shoe', options: { count: 2, seed: 1000 + i }, user: u }),
    );
    const replies = await Promise.all(its.map((i) => h.fake.waitForReply(i)));
    expect(replies.every((r) => !r.ephemeral && r.message.attachments.length === 1)).toBe(true);
    expect(h.bot.ctx.generation.stats.passes - passes0).toBeLessThanOrEqual(users.length);
    expect(numTensors()).toBe(tensors0);
    // Batched images equal the ones drawn alone.
    const alone = await h.fake.waitForReply(
      h.fake.sendCommand({ name: 'shoe', options: { count: 2, seed: 1003 }, user: users[0] }),
    );
    expect(alone.message.attachments[0].data.equals(replies[3].message.attachments[0].data)).toBe(true);
  });

  it('keeps working after the gateway connection drops (resume and fresh identify)', async () => {
    const mark = h.fake.gatewayLog.length;
    h.fake.dropConnections();
    await h.fake.waitForGateway((g) => g.t === 'RESUMED', { since: mark });
    const r1 = await h.fake.waitForReply(
      h.fake.sendCommand({ name: 'shoe', options: { count: 1, seed: 5 }, user: ALICE }),
    );
    expect(r1.ephemeral).toBe(false);

    const identifies = h.fake.identifyCount;
    const mark2 = h.fake.gatewayLog.length;
    h.fake.dropConnections({ abrupt: true, invalidate: true });
    await h.fake.waitForGateway((g) => g.t === 'READY', { since: mark2, timeoutMs: 20_000 });
    expect(h.fake.identifyCount).toBe(identifies + 1);
    await h.fake.waitForGateway((g) => g.t === 'GUILD_CREATE', { since: mark2 });
    const r2 = await h.fake.waitForReply(
      h.fake.sendCommand({ name: 'shoe', options: { count: 1, seed: 5 }, user: ALICE }),
    );
    expect(r2.message.attachments[0].data.equals(r1.message.attachments[0].data)).toBe(true);
  });

  it('never writes the token to the logs, and rendered in the worker thread throughout', () => {
    expect(h.logLines.length).toBeGreaterThan(10);
    expect(h.logLines.join('\n')).not.toContain(h.fake.token);
    expect(h.logLines.filter((l) => l.includes('render worker unavailable'))).toEqual([]);
  });
});

describe('start-up', () => {
  it('renders one /shoe-shaped grid before it is ready, so the first member does not pay for the renderer', async () => {
    const { inlineRenderer } = await import('../../src/bot/render-pool.ts');
    const inner = inlineRenderer();
    const grids: { shape: unknown; labels?: string[]; at: 'starting' | 'ready' }[] = [];
    let ready = false;
    const started = await startHarness({
      bot: {
        renderer: {
          ...inner,
          grid: (pixels, shape, opts) => {
            grids.push({ shape, labels: opts?.labels, at: ready ? 'ready' : 'starting' });
            return inner.grid(pixels, shape, opts);
          },
        },
      },
    });
    ready = true;
    try {
      // The tiny test generator: 32x32 grey.
      expect(grids).toEqual([{ shape: { n: 4, h: 32, w: 32, c: 1 }, labels: ['1', '2', '3', '4'], at: 'starting' }]);
      const reply = await started.fake.waitForReply(
        started.fake.sendCommand({ name: 'shoe', options: { seed: 3 }, user: ALICE }),
      );
      expect(reply.ephemeral).toBe(false);
      expect(grids).toHaveLength(2);
    } finally {
      await started.close();
    }
  });
});
