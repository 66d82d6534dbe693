/**
 * /blend end to end against the fake Discord: /shoe, then /blend of two shown
 * ids -> an animated attachment (really animated: pages, loop) and the middle
 * frame as a votable design with its parents; votes and buttons on it; bad
 * references; older checkpoints; rate limit; a hot-swap during a blend; no
 * tensor leaks.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import type { Logger } from 'pino';
import type { FakeInteraction } from '../fake-discord/models.ts';
import { BLEND_SIZE } from '../../src/bot/blend.ts';
import { BLEND_STEPS, drawBlend } from '../../src/bot/blend-draw.ts';
import { parseDesignRef } from '../../src/bot/design-refs.ts';
import { GenerationService } from '../../src/bot/generation.ts';
import type { BotContext } from '../../src/bot/types.ts';
import { latentToBytes } from '../../src/db/designs.ts';
import { bytesToLatent, type DesignRow } from '../../src/bot/store.ts';
import { slerpLatent } from '../../src/gan/slerp.ts';
import { renderSingle } from '../../src/render/grid.ts';
import type { VoteEvent } from '../../src/bot/votes.ts';
import { UserError } from '../../src/bot/errors.ts';
import { loadGeneratorCheckpoint } from '../../src/gan/checkpoint-load.ts';
import { initTf } from '../../src/tf/index.ts';
import {
  ALICE,
  BOB,
  TINY_GAN,
  buttonIds,
  expectNoUnhandled,
  numTensors,
  pngSize,
  startHarness,
  tinyGenerator,
  type Harness,
} from './harness.ts';

let h: Harness;
let clock = 1_000_000;
const votes: VoteEvent[] = [];
/** The shipped default generator: real designs that differ (an untrained one draws flat grey, and
 * WebP merges identical frames), its real latent size (100) and its real speed. */
let served: string;
let nz: number;

beforeAll(async () => {
  await initTf('wasm');
  const generator = await loadGeneratorCheckpoint(path.resolve('models'));
  served = generator.version;
  nz = generator.config.nz;
  h = await startHarness({
    generator,
    bot: {
      generation: { rateLimit: { count: 3, windowMs: 60_000 }, now: () => clock },
      onVote: (e) => void votes.push(e),
    },
  });
});
afterAll(async () => {
  await h?.close();
});
afterEach(() => {
  expectNoUnhandled();
  clock += 120_000; // fresh rate-limit window per test
});

/** A design message's reply, once its last vote reaction is seeded, with its designs. */
async function designReply(interaction: FakeInteraction, lastEmoji: string) {
  const reply = await h.fake.waitForReply(interaction);
  if (reply.ephemeral) return { ...reply, designs: [] as DesignRow[] };
  await h.fake.waitForRequest(
    (r) => r.method === 'PUT' && r.route.endsWith(`/messages/${reply.message.id}/reactions/${lastEmoji}/@me`),
  );
  return { ...reply, designs: await h.bot.ctx.store.findDesignsByMessage(reply.message.id) };
}

async function shoe(count: number, seed: number, user = ALICE) {
  return (
    await designReply(
      h.fake.sendCommand({ name: 'shoe', options: { count, seed }, user }),
      ['👍', '2️⃣', '3️⃣', '4️⃣'][count - 1],
    )
  ).designs;
}

const blend = (options: Record<string, unknown>, user = ALICE) =>
  designReply(h.fake.sendCommand({ name: 'blend', options, user }), '👍');

async function waitForVote(pred: (e: VoteEvent) => boolean): Promise<void> {
  const t0 = Date.now();
  while (!votes.some(pred)) {
    if (Date.now() - t0 > 5000) throw new Error('timed out waiting for a vote');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('/blend', () => {
  it('is registered with two required design options and a format choice', () => {
    const cmd = (h.fake.commands.guild.get(h.fake.guild.id) ?? []).find((c) => c.name === 'blend');
    expect(cmd).toBeDefined();
    expect(cmd!.options!.map((o) => [o.name, o.type, !!o.required])).toEqual([
      ['a', 3, true],
      ['b', 3, true],
      ['format', 3, false],
    ]);
  });

  it('parses design references the way the bot shows them', () => {
    expect(parseDesignRef('#42', 'a')).toBe(42);
    expect(parseDesignRef('42', 'a')).toBe(42);
    expect(parseDesignRef(' # 42 ', 'a')).toBe(42);
    expect(parseDesignRef('design #42', 'a')).toBe(42);
    expect(parseDesignRef(42, 'a')).toBe(42);
    for (const bad of ['', 'abc', '#', '#-1', '0', '#1.5', '99999999999', '12 13', undefined, null, {}]) {
      expect(() => parseDesignRef(bad, 'a'), String(bad)).toThrow(UserError);
    }
  });

  it('replies with an animated WebP (a -> b -> a) and the middle frame as a votable design with both parents', async () => {
    const [a, b] = await shoe(2, 42);
    await h.bot.ctx.generation.idle();
    const tensors0 = numTensors();
    const since = h.fake.mark();
    const it1 = h.fake.sendCommand({ name: 'blend', options: { a: `#${a.id}`, b: `${b.id}` }, user: ALICE });
    const reply = await designReply(it1, '👍');
    expect(reply.ephemeral).toBe(false);
    const msg = reply.message;
    // Deferred first (the 3-second window), then the edit with the files.
    expect(
      h.fake.requests.find((r) => r.seq >= since && r.route.startsWith(`/interactions/${it1.id}/`))?.body.type,
    ).toBe(5);

    // The animation: really animated, looping forever, one page per frame, the size Discord previews.
    const [anim, still] = msg.attachments;
    expect(msg.attachments).toHaveLength(2);
    expect(anim.content_type).toBe('image/webp');
    expect(anim.filename).toBe(`blend-${a.id}-${b.id}.webp`);
    const meta = await sharp(anim.data, { animated: true }).metadata();
    expect(meta.format).toBe('webp');
    expect(meta.pages).toBe(2 * (BLEND_STEPS - 1));
    expect(meta.loop).toBe(0);
    expect(meta.pageHeight).toBe(BLEND_SIZE);
    expect(meta.width).toBe(BLEND_SIZE);
    // Pauses on the two designs, quicker steps in between.
    expect(meta.delay![0]).toBeGreaterThan(meta.delay![1]);
    expect(meta.delay![BLEND_STEPS - 1]).toBe(meta.delay![0]);
    expect(anim.data.length).toBeLessThan(8 * 1024 * 1024);

    // The middle design: stored with its parents, the slerp midpoint, the served checkpoint.
    expect(reply.designs).toHaveLength(1);
    const mid = reply.designs[0];
    expect([
      mid.kind,
      mid.parentId,
      mid.secondParentId,
      mid.checkpointVersion,
      mid.gridIndex,
      mid.requesterId,
      mid.guildId,
    ]).toEqual(['blend', a.id, b.id, served, 0, ALICE, h.fake.guild.id]);
    const expected = slerpLatent(bytesToLatent(a.latent), bytesToLatent(b.latent), 0.5);
    expect(Buffer.from(mid.latent).equals(Buffer.from(latentToBytes(expected)))).toBe(true);
    // Its picture is exactly that latent drawn alone (batching does not change an image).
    expect(still.content_type).toBe('image/png');
    expect(pngSize(still.data)).toEqual({ width: BLEND_SIZE, height: BLEND_SIZE });
    const alone = await h.bot.ctx.generation.generate(expected, 1);
    expect((await renderSingle(alone.pixels, alone.shape, 0, { size: BLEND_SIZE })).equals(still.data)).toBe(true);

    expect(msg.content).toContain(`Blend of design #${a.id} and design #${b.id}`);
    expect(msg.content).toContain(`👍 design #${mid.id}`);
    expect(msg.content).toContain(`checkpoint \`${served}\``);
    expect(msg.content).not.toContain('redrawn');
    expect(buttonIds(msg.components)).toEqual([`shoe:var:${mid.id}:${ALICE}`, `shoe:up:${mid.id}:${ALICE}`]);
    await h.bot.ctx.generation.idle();
    expect(numTensors()).toBe(tensors0);

    // Votes: 👍 on the blend message is a vote for the middle design.
    h.fake.addReaction({ messageId: msg.id, emoji: '👍', user: BOB });
    await waitForVote((e) => e.kind === 'add' && e.userId === BOB && e.designId === mid.id);
    expect((await h.bot.ctx.store.db.vote.findMany({ where: { designId: mid.id } })).map((v) => v.userId)).toEqual([
      BOB,
    ]);
    // /gallery names both parents of a voted blend.
    const gallery = await h.fake.waitForReply(h.fake.sendCommand({ name: 'gallery', user: BOB }));
    expect(gallery.message.content).toContain(
      `design #${mid.id} · 1 vote · by <@${ALICE}> · blend of #${a.id} and #${b.id}`,
    );

    // The usual buttons work on it.
    const vars = await designReply(
      h.fake.pressButton({ message: msg, customId: `shoe:var:${mid.id}:${ALICE}`, user: ALICE }),
      '4️⃣',
    );
    expect(vars.message.content).toContain(`variations of design #${mid.id}`);
    expect(vars.designs.every((d) => d.kind === 'variation' && d.parentId === mid.id)).toBe(true);
    clock += 120_000; // /shoe, /blend and the variations used up ALICE's 3 requests of this minute
    const up = await designReply(
      h.fake.pressButton({ message: msg, customId: `shoe:up:${mid.id}:${ALICE}`, user: ALICE }),
      '👍',
    );
    expect(up.ephemeral, up.message.content).toBe(false);
    expect(up.designs.map((d) => [d.kind, d.parentId])).toEqual([['upscale', mid.id]]);
    // A blend has no seed (its parents define it): its upscale shows none instead of a made-up one.
    expect(up.message.content).toContain(`**Design #${mid.id}, upscaled** · checkpoint`);
    expect(up.message.content).not.toMatch(/seed `/);
    expect(Buffer.from(up.designs[0].latent).equals(Buffer.from(mid.latent))).toBe(true);
  });

  it('makes a GIF on request, and a blend can itself be blended', async () => {
    const [a, b, c] = await shoe(3, 7);
    const first = await blend({ a: `#${a.id}`, b: `#${b.id}`, format: 'gif' });
    const anim = first.message.attachments[0];
    expect(anim.content_type).toBe('image/gif');
    const meta = await sharp(anim.data, { animated: true }).metadata();
    expect([meta.format, meta.pages, meta.loop, meta.pageHeight]).toEqual([
      'gif',
      2 * (BLEND_STEPS - 1),
      0,
      BLEND_SIZE,
    ]);
    const mid = first.designs[0];
    const second = await blend({ a: `#${mid.id}`, b: `#${c.id}` });
    expect(second.designs.map((d) => [d.kind, d.parentId, d.secondParentId])).toEqual([['blend', mid.id, c.id]]);
  });

  it('says when a design was drawn by an older checkpoint and redraws it with the current one', async () => {
    const [a, b] = await shoe(2, 11);
    await h.bot.ctx.store.db.design.update({ where: { id: a.id }, data: { checkpointVersion: 'old-v0' } });
    const r = await blend({ a: `#${a.id}`, b: `#${b.id}` });
    expect(r.ephemeral).toBe(false);
    expect(r.message.content).toContain(
      `Design #${a.id} was drawn by another checkpoint (\`old-v0\`): redrawn here with the current one, so it may look a little different from the original.`,
    );
    expect(r.message.content).not.toContain(`#${b.id} was drawn`);
    expect(r.designs[0].checkpointVersion).toBe(served);
    // Both parents old: one line, not two.
    await h.bot.ctx.store.db.design.update({ where: { id: b.id }, data: { checkpointVersion: 'old-v0' } });
    clock += 120_000;
    const r2 = await blend({ a: `#${a.id}`, b: `#${b.id}` });
    expect(r2.message.content).toContain(
      `Designs #${a.id} and #${b.id} were drawn by another checkpoint (\`old-v0\`): redrawn here`,
    );
    expect(r2.message.content.match(/another checkpoint/g)).toHaveLength(1);
  });

  it('answers bad references privately, before deferring, without storing or counting anything', async () => {
    const [a, b] = await shoe(2, 5);
    const [up] = (
      await designReply(
        h.fake.pressButton({
          message: (await h.bot.ctx.store.findDesign(a.id))!.messageId!,
          customId: `shoe:up:${a.id}:${ALICE}`,
          user: ALICE,
        }),
        '👍',
      )
    ).designs;
    const store = h.bot.ctx.store;
    const common = { seed: 1, gridIndex: 0, checkpointVersion: served, channelId: h.fake.channelId, requesterId: BOB };
    const [foreign, smallNz, smallNz2] = await store.createDesigns([
      // Another server's design (same shape, would blend fine): must look like it does not exist.
      { ...common, latent: new Float32Array(nz).fill(0.5), guildId: '999999999999999999' },
      // Drawn by a generator with another latent size.
      { ...common, latent: new Float32Array(8).fill(0.5), guildId: h.fake.guild.id },
      { ...common, latent: new Float32Array(8).fill(-0.5), guildId: h.fake.guild.id },
    ]);
    const before = await store.db.design.count();
    const passes = h.bot.ctx.generation.stats.passes;
    for (const [options, text] of [
      [{ a: '#999999', b: `#${b.id}` }, "I can't find design #999999 in this server"],
      [{ a: `#${a.id}`, b: `#${foreign.id}` }, `I can't find design #${foreign.id} in this server`],
      [{ a: 'shoe', b: `#${b.id}` }, '`a` must be a design id as shown under every design, like `#42` (got `shoe`)'],
      [{ a: `#${a.id}`, b: '#0' }, '`b` must be a design id'],
      [{ a: `#${a.id}` }, '`b` must be a design id'],
      [{ a: `#${a.id}`, b: `${a.id}` }, `Both \`a\` and \`b\` are design #${a.id}: pick two different designs`],
      [{ a: `#${a.id}`, b: `#${up.id}` }, 'are the same sneaker (same latent)'],
      [
        { a: `#${a.id}`, b: `#${smallNz.id}` },
        `come from generators of different shapes (latent sizes ${nz} and 8), so they cannot be blended`,
      ],
      [
        { a: `#${smallNz.id}`, b: `#${smallNz2.id}` },
        `were drawn by an older generator of a different shape (latent size 8; the current one uses ${nz})`,
      ],
      [{ a: `#${a.id}`, b: `#${b.id}`, format: 'png' }, '`format` must be `webp` or `gif`'],
    ] as const) {
      const r = await h.fake.waitForReply(h.fake.sendCommand({ name: 'blend', options, user: BOB }));
      expect(r.ephemeral, text).toBe(true);
      expect(r.message.content).toContain(text);
      expect(r.callbackType).toBe(4); // refused before deferring: no public "thinking…" left behind
      expect(r.message.attachments).toHaveLength(0);
    }
    // The foreign design's message is the same as an unknown id's: nothing leaks.
    expect(await store.db.design.count()).toBe(before);
    expect(h.bot.ctx.generation.stats.passes).toBe(passes);
    // None of it counted against BOB's rate limit (3 per minute here).
    const ok = [];
    for (let i = 0; i < 3; i++) ok.push(await blend({ a: `#${a.id}`, b: `#${b.id}` }, BOB));
    expect(ok.every((r) => !r.ephemeral)).toBe(true);
    // Deterministic: the same two designs and checkpoint give the same animation and the same middle design.
    expect(ok[1].message.attachments[0].data.equals(ok[0].message.attachments[0].data)).toBe(true);
    expect(ok[2].message.attachments[1].data.equals(ok[0].message.attachments[1].data)).toBe(true);
    expect(Buffer.from(ok[2].designs[0].latent).equals(Buffer.from(ok[0].designs[0].latent))).toBe(true);
    expect(ok[2].designs[0].id).not.toBe(ok[0].designs[0].id); // each blend is its own votable design
    const limited = await h.fake.waitForReply(
      h.fake.sendCommand({ name: 'blend', options: { a: `#${a.id}`, b: `#${b.id}` }, user: BOB }),
    );
    expect(limited.ephemeral).toBe(true);
    expect(limited.message.content).toMatch(/Try again in \d+ s/);
  });

  it("keeps DM designs private: in DMs only the member's own designs are suggested and blended", async () => {
    const store = h.bot.ctx.store;
    const common = { seed: 1, gridIndex: 0, checkpointVersion: served, channelId: 'dm', guildId: null };
    // Every DM design has guildId null, whoever drew it.
    const [bob1, bob2, alice1, alice2] = await store.createDesigns([
      { ...common, requesterId: BOB, latent: new Float32Array(nz).fill(0.5), messageId: 'dm-b' },
      { ...common, requesterId: BOB, latent: new Float32Array(nz).map((_, i) => (i % 2 ? 1 : -1)), messageId: 'dm-b' },
      {
        ...common,
        requesterId: ALICE,
        latent: new Float32Array(nz).map((_, i) => (i % 3 ? 1 : -1)),
        messageId: 'dm-a',
      },
      {
        ...common,
        requesterId: ALICE,
        latent: new Float32Array(nz).map((_, i) => (i % 5 ? -1 : 1)),
        messageId: 'dm-a',
      },
    ]);
    const refused = await h.fake.waitForReply(
      h.fake.sendCommand({
        name: 'blend',
        options: { a: `#${alice1.id}`, b: `#${bob2.id}` },
        user: ALICE,
        guildId: null,
      }),
    );
    expect(refused.ephemeral).toBe(true);
    expect(refused.message.content).toContain(`I can't find design #${bob2.id} here`);
    const it1 = h.fake.sendCommand({ name: 'blend', options: { a: '' }, focused: 'a', user: ALICE, guildId: null });
    const cb = await h.fake.waitForRequest((r) => r.route === `/interactions/${it1.id}/${it1.token}/callback`);
    const offered = (cb.body.data.choices as { value: string }[]).map((c) => c.value);
    expect(offered).toContain(`#${alice1.id}`);
    expect(offered).not.toContain(`#${bob1.id}`);
    expect(offered).not.toContain(`#${bob2.id}`);
    // Her own DM designs blend as usual.
    const own = await designReply(
      h.fake.sendCommand({
        name: 'blend',
        options: { a: `#${alice1.id}`, b: `#${alice2.id}` },
        user: ALICE,
        guildId: null,
      }),
      '👍',
    );
    expect(own.ephemeral, own.message.content).toBe(false);
    expect(own.designs.map((d) => [d.kind, d.guildId, d.requesterId])).toEqual([['blend', null, ALICE]]);
  });

  it('shares the rate limit with /shoe', async () => {
    const [a, b] = await shoe(2, 3, BOB);
    await shoe(1, 4, BOB);
    expect((await blend({ a: `#${a.id}`, b: `#${b.id}` }, BOB)).ephemeral).toBe(false);
    const limited = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count: 1 }, user: BOB }));
    expect(limited.ephemeral).toBe(true);
    expect(limited.message.content).toMatch(/Try again in \d+ s/);
  });

  it('redraws every frame when the checkpoint is swapped between the passes of one blend', async () => {
    const lat = new Float32Array(2 * TINY_GAN.nz).map((_, i) => Math.sin(i));
    const tensors0 = numTensors();
    let swapped = false;
    let passes = 0;
    const gen: GenerationService = new GenerationService({
      maxBatch: 8,
      log: {
        debug: () => {
          // After the first pass of the blend: hot-swap, so the next passes draw with v2.
          if (++passes === 1 && !swapped) {
            swapped = true;
            void gen.swap(tinyGenerator('test-v2', 2), { warmup: false });
          }
        },
        info: () => undefined,
        error: () => undefined,
      } as unknown as Logger,
    });
    await gen.swap(tinyGenerator('test-v1', 1), { warmup: false });
    const ctx = { generation: gen, log: h.bot.ctx.log } as unknown as BotContext;
    const drawing = await drawBlend(ctx, lat.subarray(0, TINY_GAN.nz), lat.subarray(TINY_GAN.nz));
    expect(swapped).toBe(true);
    expect(drawing.version).toBe('test-v2');
    // 3 passes (8 + 8 + 1 frames) for the mixed attempt, 3 more for the clean one.
    expect(gen.stats.passes).toBe(6);
    expect(drawing.shape).toEqual({ n: BLEND_STEPS, h: 32, w: 32, c: 1 });
    await gen.close();
    // Both generators (v1 retired after its last pass, v2 on close) were disposed; no frame tensor is left behind.
    expect(numTensors()).toBe(tensors0);
  });

  it("suggests this server's top-voted and newest design ids while an option is typed", async () => {
    const store = h.bot.ctx.store;
    const [foreign] = await store.createDesigns([
      {
        seed: 1,
        gridIndex: 0,
        checkpointVersion: served,
        channelId: 'c',
        requesterId: BOB,
        latent: new Float32Array(nz),
        guildId: '999999999999999999',
        messageId: '1',
      },
    ]);
    const suggest = async (options: Record<string, unknown>, focused: string) => {
      const it1 = h.fake.sendCommand({ name: 'blend', options, focused, user: ALICE });
      const cb = await h.fake.waitForRequest((r) => r.route === `/interactions/${it1.id}/${it1.token}/callback`);
      expect(cb.body.type).toBe(8);
      return cb.body.data.choices as { name: string; value: string }[];
    };
    const passes = h.bot.ctx.generation.stats.passes;
    const all = await suggest({ a: '' }, 'a');
    expect(all.length).toBeGreaterThan(5);
    expect(all.length).toBeLessThanOrEqual(25);
    const top = await store.topDesigns(h.fake.guild.id, 1);
    // The most-voted design first (the blend BOB voted for above), with its votes shown.
    expect(all[0].value).toBe(`#${top[0].design.id}`);
    expect(all[0].name).toMatch(new RegExp(`^#${top[0].design.id} · blend · 1 vote · (just now|\\d+ min ago)$`));
    // Then the newest, all from this server, never the other server's design.
    const ids = all.map((c) => Number(c.value.slice(1)));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).not.toContain(foreign.id);
    for (const id of ids) expect((await store.findDesign(id))!.guildId).toBe(h.fake.guild.id);
    // Filtered by the digits typed so far ("#1" -> ids starting with 1), without the design already picked in the other option.
    const filtered = await suggest({ a: `#${ids[1]}`, b: '#1' }, 'b');
    expect(filtered.length).toBeGreaterThan(0);
    expect(filtered.every((c) => c.value.startsWith('#1'))).toBe(true);
    expect(filtered.map((c) => c.value)).not.toContain(`#${ids[1]}`);
    expect(await suggest({ a: 'zzz', b: '#999999' }, 'b')).toEqual([]);
    // Suggestions draw nothing and cost nothing.
    expect(h.bot.ctx.generation.stats.passes).toBe(passes);
  });

  it('rendered in the worker thread throughout, and logged its timings', () => {
    expect(h.logLines.filter((l) => l.includes('render worker unavailable'))).toEqual([]);
    const posted = h.logLines
      .filter((l) => l.includes('"blend posted"'))
      .map((l) => JSON.parse(l) as { drawMs: number; renderMs: number; bytes: number });
    expect(posted.length).toBeGreaterThanOrEqual(5);
    for (const p of posted) expect(p.bytes).toBeGreaterThan(1000);
  });
});
