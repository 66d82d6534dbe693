/**
 * Community taste: the per-guild fit on a real SQLite database (weights across hot-swaps, latent
 * sizes, caching and invalidation), simulated voters with the real default generator (community
 * mode must give them designs they like more often than plain sampling), and /shoe mode:community
 * end to end through the fake Discord (votes by reactions, refusal, reply, buttons, tensors).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, providerOf, type PrismaClient } from '../../src/db/client.ts';
import { latentToBytes } from '../../src/db/designs.ts';
import { createLogger, setRootLogger } from '../../src/log.ts';
import { initTf } from '../../src/tf/index.ts';
import { Store } from '../../src/bot/store.ts';
import { communityTaste, CommunityTaste, steeringStatusLine } from '../../src/bot/community.ts';
import { MIN_VOTED_DESIGNS } from '../../src/bot/community-text.ts';
import { UserError } from '../../src/bot/errors.ts';
import { latentsForSeed, Rng } from '../../src/gan/latent.ts';
import { loadGeneratorCheckpoint, type LoadedGenerator } from '../../src/gan/checkpoint-load.ts';
import { projections } from '../../src/gan/steering.ts';
import type { VoteEvent } from '../../src/bot/votes.ts';
import { PREFERENCES, simulateCommunity, voterThresholds } from '../../bench/community-sim.ts';
import { freshPgDatabase } from '../setup/pg-url.ts';
import {
  ADMIN_ID,
  ALICE,
  BOB,
  buttonIds,
  expectNoUnhandled,
  numTensors,
  sleep,
  startHarness,
  tinyGenerator,
  type Harness,
} from './harness.ts';
import { tempDir } from '../helpers/temp.ts';

// The steering figures below were calibrated on the 32x32 grey model's shapes ("taller" = more bright rows); it stays as a fixture.
const MODELS = path.resolve(__dirname, '../fixtures/grey-32');
const dirs: string[] = [];
let db: PrismaClient;
let store: Store;

beforeAll(async () => {
  setRootLogger(createLogger({ level: 'silent' }));
  const dir = tempDir('shoebot-community-');
  dirs.push(dir);
  db = await openDatabase(`file:${path.join(dir, 'c.db')}`);
  store = new Store(db);
});
afterAll(async () => {
  await db?.$disconnect();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const NZ = 16;
let msg = 0;

// The fit's queries use the Prisma API only: the same tests on SQLite and on the test PostgreSQL server.
describe.each([
  ['SQLite', async () => `file:${path.join(dirs[0], 'each.db')}`],
  ['PostgreSQL', () => freshPgDatabase()],
] as const)('community taste on the database (%s)', (name, url) => {
  let db: PrismaClient;
  let store: Store;
  beforeAll(async () => {
    db = await openDatabase(await url());
    store = new Store(db);
    expect(providerOf(db)).toBe(name === 'SQLite' ? 'sqlite' : 'postgresql');
  });
  afterAll(async () => {
    await db?.$disconnect();
  });

  /** Stores one posted grid of `latents` for a guild; `votes[i]` members upvote design i. */
  async function postGrid(
    guildId: string,
    version: string,
    latents: Float32Array[],
    votes: number[],
    createdAt?: Date,
  ) {
    const designs = await store.createDesigns(
      latents.map((latent, i) => ({
        seed: 1,
        gridIndex: i,
        latent,
        checkpointVersion: version,
        guildId,
        channelId: 'c',
        requesterId: 'u',
      })),
    );
    if (createdAt) await db.design.updateMany({ where: { id: { in: designs.map((d) => d.id) } }, data: { createdAt } });
    await store.attachMessage(
      designs.map((d) => d.id),
      `m${++msg}`,
    );
    for (let i = 0; i < designs.length; i++)
      for (let v = 0; v < votes[i]; v++) await store.addVote(`voter${v}`, designs[i].id);
    return designs;
  }

  /** `grids` grids of 4 N(0, I) latents where the design with the largest latent[0] gets 2 votes. */
  async function votedHistory(
    guildId: string,
    version: string,
    grids: number,
    seed: number,
    nz = NZ,
    createdAt?: Date,
  ) {
    for (let g = 0; g < grids; g++) {
      const z = latentsForSeed(seed + g, 4, nz);
      const rows = [0, 1, 2, 3].map((i) => z.slice(i * nz, (i + 1) * nz));
      const best = rows.reduce((b, r, i) => (r[0] > rows[b][0] ? i : b), 0);
      await postGrid(
        guildId,
        version,
        rows,
        rows.map((_, i) => (i === best ? 2 : 0)),
        createdAt,
      );
    }
  }

  it('refuses with a clear message below the minimum, then steers toward what was upvoted', async () => {
    const taste = new CommunityTaste(store);
    const served = { version: 'v1', nz: NZ };
    await votedHistory('g1', 'v1', 3, 10);
    const err = await taste.sample('g1', served, 1, 4, 0.6).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain(`at least ${MIN_VOTED_DESIGNS} designs`);
    expect(err.message).toContain('votes on 3 designs');
    expect(err.message).toContain('plain `/shoe`');
    await votedHistory('g1', 'v1', 17, 20);
    taste.noteVote('g1');
    const { latents, fit, shift } = await taste.sample('g1', served, 1, 4, 0.6);
    expect(fit.votedDesigns).toBe(20);
    expect(fit.votes).toBe(40);
    expect(fit.currentVotedDesigns).toBe(20);
    expect(fit.weightedVotes).toBe(40);
    // The planted taste is "large latent[0]".
    expect(fit.direction[0]).toBeGreaterThan(0.7);
    expect(fit.signal).toBeGreaterThan(2);
    expect(shift).toBeGreaterThan(0);
    const e0 = new Float32Array(NZ);
    e0[0] = 1;
    const plain = latentsForSeed(1, 4, NZ);
    const p0 = projections(plain, 4, e0);
    const p1 = projections(latents, 4, e0);
    for (let i = 0; i < 4; i++) expect(p1[i]).toBeGreaterThan(p0[i]);
    // Same data + seed + strength: the same latents, bit for bit; strength 0: plain.
    const again = await taste.sample('g1', served, 1, 4, 0.6);
    expect(Buffer.from(again.latents.buffer).equals(Buffer.from(latents.buffer))).toBe(true);
    expect(
      Buffer.from((await taste.sample('g1', served, 1, 4, 0)).latents.buffer).equals(Buffer.from(plain.buffer)),
    ).toBe(true);
    await expect(taste.sample('g1', served, 1, 4, 1.5)).rejects.toThrow('`strength` must be a number from 0 to 1');
  });

  it('caches per guild; refits after votes (debounced, in the background), on a hot-swap, and on votes from another process', async () => {
    const taste = new CommunityTaste(store, { debounceMs: 50, recheckMs: 60_000 });
    await votedHistory('g2', 'v1', 10, 100);
    const served = { version: 'v1', nz: NZ };
    const a = await taste.get('g2', served);
    const fits = taste.fits;
    expect(await taste.get('g2', served)).toBe(a);
    expect(taste.fits).toBe(fits);
    // A burst of votes in this process: one background refit after the quiet time.
    const designs = await postGrid(
      'g2',
      'v1',
      [0, 1, 2, 3].map((i) => latentsForSeed(999 + i, 1, NZ)),
      [1, 0, 0, 0],
    );
    for (let i = 0; i < 5; i++) taste.noteVote('g2');
    await sleep(200);
    expect(taste.fits).toBe(fits + 1);
    const b = taste.cached('g2')!;
    expect(b.votes).toBe(a.votes + 1);
    expect(await taste.get('g2', served)).toBe(b);
    // Hot-swap: a new served version refits, and the old designs weigh half.
    const c = await taste.get('g2', { version: 'v2', nz: NZ });
    expect(taste.fits).toBe(fits + 2);
    expect(c.currentVotedDesigns).toBe(0);
    expect(c.weightedVotes).toBeCloseTo(b.votes / 2, 9);
    // A vote stored by another process (no noteVote here): noticed at the next recheck.
    const other = new CommunityTaste(store, { recheckMs: 0 });
    const d = await other.get('g2', served);
    await store.addVote('someone-else', designs[1].id);
    const e = await other.get('g2', served);
    expect(e).not.toBe(d);
    expect(e.votes).toBe(d.votes + 1);
    taste.close();
  });

  it('weights designs by checkpoint generation and ignores other latent sizes', async () => {
    const t0 = Date.now() - 3_600_000;
    // v-old then v-mid (both served before), then v-new, recorded in the Checkpoint table.
    await db.checkpoint.createMany({
      data: [
        { version: 'w-old', step: 1, status: 'retired', createdAt: new Date(t0) },
        { version: 'w-mid', step: 2, status: 'retired', createdAt: new Date(t0 + 1000) },
        { version: 'w-rej', step: 3, status: 'rejected', createdAt: new Date(t0 + 1500) },
        { version: 'w-new', step: 4, status: 'active', createdAt: new Date(t0 + 2000) },
      ],
    });
    await votedHistory('g3', 'w-old', 8, 300);
    await votedHistory('g3', 'w-mid', 8, 400);
    await votedHistory('g3', 'w-new', 2, 500);
    // A generator with another latent size drew these: ignored.
    await votedHistory('g3', 'w-new', 3, 600, 24);
    const fit = await new CommunityTaste(store).get('g3', { version: 'w-new', nz: NZ });
    expect(fit.incompatible).toBe(12);
    expect(fit.votedDesigns).toBe(18);
    expect(fit.currentVotedDesigns).toBe(2);
    // Two votes per voted design: 2 * (2 * 1 + 8 * 1/2 + 8 * 1/4) — the rejected candidate never served, so it is no generation.
    expect(fit.weightedVotes).toBeCloseTo(2 * (2 + 4 + 2), 9);
    expect(fit.weightedVoted).toBeCloseTo(8, 9);
    // After a rollback to w-mid, w-new's designs are one generation away too.
    const back = await new CommunityTaste(store).get('g3', { version: 'w-mid', nz: NZ });
    expect(back.weightedVotes).toBeCloseTo(2 * (8 + 4 + 1), 9);
    const line = await steeringStatusLine(store, 'g3', { version: 'w-new', nz: NZ });
    expect(line).toBe(
      'Steering data: 18 voted designs / 36 votes in this server (2 on the current checkpoint, effective weight 16) · ' +
        `12 designs of another latent size ignored · taste signal ${fit.signal.toFixed(1)}× chance`,
    );
    expect(await steeringStatusLine(store, null, { version: 'w-new', nz: NZ })).toContain('n/a');
  });

  it('reads only posted designs (a design whose message never went out was never seen)', async () => {
    await votedHistory('g4', 'v1', 6, 700);
    const before = await new CommunityTaste(store).fit('g4', { version: 'v1', nz: NZ });
    const [unposted] = await store.createDesigns([
      {
        seed: 1,
        gridIndex: 0,
        latent: latentToBytes(new Float32Array(NZ).fill(3)),
        checkpointVersion: 'v1',
        guildId: 'g4',
        channelId: 'c',
        requesterId: 'u',
      },
    ]);
    await store.addVote('x', unposted.id);
    const after = await new CommunityTaste(store).fit('g4', { version: 'v1', nz: NZ });
    expect(after.shown).toBe(before.shown);
    expect(after.fingerprint).toBe(before.fingerprint);
  });
});

describe('simulated voters with the real default generator', () => {
  let gen: LoadedGenerator;
  beforeAll(async () => {
    await initTf('wasm');
    gen = await loadGeneratorCheckpoint(MODELS);
  });
  afterAll(() => gen?.model.dispose());

  for (const name of ['darker', 'taller'] as const) {
    it(`community mode gives voters who prefer ${name} designs more designs they upvote than plain sampling`, async () => {
      const pref = PREFERENCES[name];
      const thresholds = await voterThresholds(gen, pref, 5);
      const before = numTensors();
      const r = await simulateCommunity({
        gen,
        store,
        guildId: `sim-${name}`,
        pref,
        thresholds,
        rounds: 40,
        evalSeeds: 30,
        strengths: [0.6],
        seed: name === 'darker' ? 1 : 2,
      });
      expect(numTensors()).toBe(before);
      // Plain designs: about the share the thresholds were set for (50..90th percentiles: ~30 %).
      expect(r.plain.share).toBeGreaterThan(0.2);
      expect(r.plain.share).toBeLessThan(0.4);
      expect(r.fit.signal).toBeGreaterThan(1.3);
      expect(r.steered['0.6'].share).toBeGreaterThan(r.plain.share + 0.08);
      expect(r.steered['0.6'].mean).toBeGreaterThan(r.plain.mean);
    });
  }
});

describe('/shoe mode:community through the fake Discord', () => {
  let h: Harness;
  const votes: VoteEvent[] = [];
  beforeAll(async () => {
    h = await startHarness({ bot: { onVote: (e) => votes.push(e) }, env: { SHOE_RATE_PER_MINUTE: '100' } });
  });
  afterAll(async () => {
    await h?.close();
  });
  afterEach(() => expectNoUnhandled());

  async function designReply(interaction: ReturnType<Harness['fake']['sendCommand']>) {
    const reply = await h.fake.waitForReply(interaction);
    if (reply.ephemeral) return { ...reply, designs: [] };
    const n = (reply.message.content.match(/(?:\d\uFE0F\u20E3|👍) design #\d+/gu) ?? []).length;
    const last = n === 1 ? '👍' : ['1️⃣', '2️⃣', '3️⃣', '4️⃣'][n - 1];
    await h.fake.waitForRequest(
      (r) => r.method === 'PUT' && r.route.endsWith(`/messages/${reply.message.id}/reactions/${last}/@me`),
    );
    return { ...reply, designs: await h.bot.ctx.store.findDesignsByMessage(reply.message.id) };
  }

  it('refuses until the server has voted, then steers, says so, and keeps seeds and buttons working', async () => {
    const refused = await h.fake.waitForReply(
      h.fake.sendCommand({ name: 'shoe', options: { mode: 'community' }, user: ALICE }),
    );
    expect(refused.ephemeral).toBe(true);
    expect(refused.message.content).toContain(`needs votes on at least ${MIN_VOTED_DESIGNS} designs`);
    expect(refused.message.content).toContain('This server has votes on 0 designs');
    expect(refused.message.attachments).toHaveLength(0);
    const bad = await h.fake.waitForReply(
      h.fake.sendCommand({ name: 'shoe', options: { mode: 'plain', strength: 0.5 }, user: ALICE }),
    );
    expect(bad.ephemeral).toBe(true);
    expect(bad.message.content).toContain('`strength` steers community mode');
    const bad2 = await h.fake.waitForReply(
      h.fake.sendCommand({ name: 'shoe', options: { mode: 'fancy' }, user: ALICE }),
    );
    expect(bad2.message.content).toContain('`mode` must be `plain` or `community`');

    // Members vote by reactions for the design with the largest latent[0] in each grid.
    const rng = new Rng(3);
    let expected = 0;
    for (let g = 0; g < 7; g++) {
      const r = await designReply(h.fake.sendCommand({ name: 'shoe', options: { seed: 500 + g }, user: ADMIN_ID }));
      const lat = r.designs.map((d) => new Float32Array(new Uint8Array(d.latent).buffer));
      const best = lat.reduce((b, l, i) => (l[0] > lat[b][0] ? i : b), 0);
      const emoji = ['1️⃣', '2️⃣', '3️⃣', '4️⃣'][best];
      h.fake.addReaction({ messageId: r.message.id, emoji, user: ALICE });
      h.fake.addReaction({ messageId: r.message.id, emoji, user: BOB });
      expected += 2;
      if (rng.uniform() < 0.3) {
        h.fake.addReaction({ messageId: r.message.id, emoji: '🔥', user: BOB }); // not a vote
      }
    }
    for (let i = 0; i < 100 && votes.filter((v) => v.changed).length < expected; i++) await sleep(20);
    expect(votes.filter((v) => v.changed)).toHaveLength(expected);

    const taste = communityTaste(h.bot.ctx.store);
    const fitsBefore = taste.fits;
    const t0 = numTensors();
    const a = await designReply(
      h.fake.sendCommand({ name: 'shoe', options: { mode: 'community', strength: 0.8, seed: 77 }, user: ALICE }),
    );
    expect(a.ephemeral).toBe(false);
    const content = a.message.content;
    expect(content).toContain('4 community-steered sneaker designs');
    expect(content).toContain('seed `77`');
    expect(content).toContain('strength 0.8');
    expect(content).toContain(`from ${expected} votes on 7 designs (7 on this checkpoint)`);
    expect(content).toMatch(/taste `[0-9a-f]{6}`/);
    expect(a.designs.map((d) => d.steering)).toEqual([0.8, 0.8, 0.8, 0.8]);
    expect(taste.fits).toBe(fitsBefore + 1);
    // Steered toward latent[0], away from plain seed 77.
    const plain = latentsForSeed(77, 4, 16);
    a.designs.forEach((d, i) =>
      expect(new Float32Array(new Uint8Array(d.latent).buffer)[0]).toBeGreaterThan(plain[i * 16]),
    );
    const ids = buttonIds(a.message.components);
    expect(ids).toContain(`shoe:reroll:4:${ALICE}:c0.8`);

    // Same seed + strength + taste + checkpoint: the same image; the cached fit serves it.
    const b = await designReply(
      h.fake.sendCommand({ name: 'shoe', options: { mode: 'community', strength: 0.8, seed: 77 }, user: BOB }),
    );
    expect(b.message.attachments[0].data.equals(a.message.attachments[0].data)).toBe(true);
    expect(taste.fits).toBe(fitsBefore + 1);
    // strength alone means community; strength 0 draws the plain latents.
    const z = await designReply(
      h.fake.sendCommand({ name: 'shoe', options: { strength: 0, seed: 77, count: 2 }, user: BOB }),
    );
    // ... and plain designs are not labelled steered (README: never plain designs labelled community).
    expect(z.message.content).toContain('**2 sneaker designs**');
    expect(z.message.content).not.toContain('community-steered');
    expect(z.message.content).toContain('Community mode at strength 0: not steered');
    z.designs.forEach((d, i) =>
      expect(Buffer.from(d.latent).equals(Buffer.from(latentToBytes(plain.slice(i * 16, (i + 1) * 16))))).toBe(true),
    );

    // Buttons: variations and upscale of a community design, and a community reroll.
    const vars = await designReply(
      h.fake.pressButton({ message: a.message, customId: `shoe:var:${a.designs[0].id}:${ALICE}`, user: ALICE }),
    );
    expect(vars.message.content).toContain(`variations of design #${a.designs[0].id}`);
    const up = await designReply(
      h.fake.pressButton({ message: a.message, customId: `shoe:up:${a.designs[1].id}:${ALICE}`, user: ALICE }),
    );
    expect(up.designs.map((d) => [d.kind, d.steering])).toEqual([['upscale', 0.8]]);
    const reroll = await designReply(
      h.fake.pressButton({ message: a.message, customId: `shoe:reroll:4:${ALICE}:c0.8`, user: ALICE }),
    );
    expect(reroll.message.content).toContain('4 community-steered sneaker designs');
    expect(reroll.message.content).toContain('strength 0.8');
    expect(numTensors()).toBe(t0);

    // A new vote makes the taste stale: the next community request refits.
    h.fake.addReaction({ messageId: a.message.id, emoji: '1️⃣', user: BOB });
    for (let i = 0; i < 100 && votes.filter((v) => v.changed).length < expected + 1; i++) await sleep(20);
    const c = await designReply(
      h.fake.sendCommand({ name: 'shoe', options: { mode: 'community', seed: 77 }, user: BOB }),
    );
    expect(c.message.content).toContain('strength 0.6');
    expect(c.message.content).toContain(`from ${expected + 1} votes on 8 designs`);
    expect(taste.fits).toBeGreaterThan(fitsBefore + 1);

    // Admins see the steering data in /train status.
    const st = await h.fake.waitForReply(h.fake.sendCommand({ name: 'train', subcommand: 'status', user: ADMIN_ID }));
    expect(st.message.content).toContain(
      `Steering data: 8 voted designs / ${expected + 1} votes in this server (8 on the current checkpoint, effective weight ${expected + 1})`,
    );

    // A hot-swap: the same latents draw other sneakers now, so every vote counts half — too little.
    await h.bot.ctx.generation.swap(tinyGenerator('test-v2', 2));
    const after = await h.fake.waitForReply(
      h.fake.sendCommand({ name: 'shoe', options: { mode: 'community' }, user: ALICE }),
    );
    expect(after.ephemeral).toBe(true);
    expect(after.message.content).toContain('This server has votes on 8 designs so far (4 that count');
    expect(after.message.content).toContain('count half per checkpoint');
    const st2 = await h.fake.waitForReply(h.fake.sendCommand({ name: 'train', subcommand: 'status', user: ADMIN_ID }));
    expect(st2.message.content).toContain(
      `Steering data: 8 voted designs / ${expected + 1} votes in this server (0 on the current checkpoint, effective weight ${(expected + 1) / 2})`,
    );
    expect(numTensors()).toBe(t0);
  });
});
