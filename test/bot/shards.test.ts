/**
 * `npm run start:shards` as real processes against the fake Discord, which
 * has one guild on each of 2 shards. Two layouts:
 * - one machine: one manager, SHARD_COUNT=auto (the fake recommends 2),
 *   SQLite;
 * - two machines: two managers, SHARD_COUNT=2 with SHARD_IDS=0 and 1, one
 *   PostgreSQL database, both contending for the trainer lease.
 * Both shards answer /shoe with their own generator copy (a tiny checkpoint
 * in a temp MODELS_DIR), votes from both land in the one database, commands
 * are registered once, exactly one process holds the trainer, SIGTERM stops
 * everything cleanly (interactions in flight are still answered). One
 * machine also: every shard hot-swaps to a published checkpoint, a killed
 * shard is respawned and serves again. Start-up time and memory per shard
 * are printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTf } from '../../src/tf/index.ts';
import { buildDiscriminator, buildGenerator } from '../../src/gan/model.ts';
import { DEFAULT_TRAIN_OPTIONS } from '../../src/gan/recipe.ts';
import { GanTrainState } from '../../src/gan/train-step.ts';
import { saveCheckpoint } from '../../src/gan/checkpoint.ts';
import { setActiveCheckpoint } from '../../src/gan/catalogue.ts';
import { openDatabase, type PrismaClient } from '../../src/db/client.ts';
import { voteEmojiFor } from '../../src/bot/votes.ts';
import type { FakeInteraction } from '../fake-discord/models.ts';
import { FakeDiscord } from '../fake-discord/server.ts';
import { guildIdOnShard } from '../fake-discord/snowflakes.ts';
import { freshPgDatabase } from '../setup/pg-url.ts';
import { ADMIN_ID, ALICE, BOB, TINY_GAN, sleep, tempDir } from './harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** A tiny, real, verified checkpoint as the active generator of `modelsDir`. */
async function tinyCheckpoint(modelsDir: string, version = 'tiny-v1', seed = 1): Promise<string> {
  await initTf('wasm');
  const state = new GanTrainState(buildGenerator(TINY_GAN, seed), buildDiscriminator(TINY_GAN, seed + 1), {
    ...DEFAULT_TRAIN_OPTIONS,
    batchSize: 8,
  });
  const rng = { s: [1, 2, 3, 4] as [number, number, number, number], spare: null };
  await saveCheckpoint(modelsDir, {
    state,
    config: TINY_GAN,
    version,
    trainer: {
      noiseRng: rng,
      epochRng: rng,
      epoch: 0,
      batchInEpoch: 0,
      seed,
      datasetFingerprint: 'none',
      trainSeconds: 0,
      history: [],
    },
  });
  await setActiveCheckpoint(modelsDir, version, { verify: true });
  state.generator.dispose();
  state.discriminator.dispose();
  state.dispose();
  return version;
}

/** One manager with both shards on SQLite, or two managers (machines) with one shard each on PostgreSQL. */
function shardSuite(layout: 'one machine' | 'two machines'): void {
  const full = layout === 'one machine';
  let dbUrl: string;
  let fake: FakeDiscord;
  let dir: string;
  const managers: ChildProcess[] = [];
  const exits: Promise<{ code: number | null; signal: string | null }>[] = [];
  let stoppingOnPurpose = false;
  const lines: Record<string, any>[] = [];
  const raw: string[] = [];
  const g = { 0: '', 1: '' } as Record<0 | 1, string>;

  function logged(pred: (l: Record<string, any>) => boolean): Record<string, any>[] {
    return lines.filter(pred);
  }

  async function waitForLog(
    pred: (l: Record<string, any>) => boolean,
    timeoutMs = 90_000,
    what = 'a log line',
  ): Promise<Record<string, any>> {
    const t0 = Date.now();
    for (;;) {
      const hit = lines.find(pred);
      if (hit) return hit;
      const dead = managers.find((m) => m.exitCode !== null);
      if (dead && !stoppingOnPurpose)
        throw new Error(`a manager exited (${dead.exitCode}); last lines:\n${raw.slice(-40).join('\n')}`);
      if (Date.now() - t0 > timeoutMs)
        throw new Error(`timed out waiting for ${what}; last lines:\n${raw.slice(-40).join('\n')}`);
      await sleep(50);
    }
  }

  /** /shoe in a guild; resolves with the reply once its vote reactions are seeded. */
  async function shoeIn(guild: 0 | 1, user = ALICE) {
    const guildId = g[guild];
    const channelId = fake.guilds.find((x) => x.id === guildId)!.channels[0].id;
    const it: FakeInteraction = fake.sendCommand({ name: 'shoe', options: { count: 2 }, user, guildId, channelId });
    const reply = await fake.waitForReply(it, { timeoutMs: 60_000 });
    expect(reply.ephemeral, reply.message.content).toBe(false);
    await fake.waitForRequest(
      (r) =>
        r.method === 'PUT' && r.route.endsWith(`/messages/${reply.message.id}/reactions/${voteEmojiFor(2).at(-1)}/@me`),
      {
        timeoutMs: 30_000,
      },
    );
    return { it, reply, guildId, channelId };
  }

  beforeAll(async () => {
    g[0] = guildIdOnShard(0, 2);
    g[1] = guildIdOnShard(1, 2);
    fake = await FakeDiscord.start({
      guilds: [
        { id: g[0], name: 'Shard zero' },
        { id: g[1], name: 'Shard one' },
      ],
      recommendedShards: 2,
    });
    dir = tempDir('shoebot-shards-');
    dbUrl = full ? `file:${path.join(dir, 'bot.db')}` : await freshPgDatabase('shoebot_shards');
    await tinyCheckpoint(path.join(dir, 'models'));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DISCORD_TOKEN: fake.token,
      DISCORD_API_BASE: fake.apiBase,
      DATABASE_URL: dbUrl,
      MODELS_DIR: path.join(dir, 'models'),
      DATA_DIR: path.join(dir, 'data'),
      TF_BACKEND: 'wasm',
      ADMIN_USER_IDS: ADMIN_ID,
      SHARD_SPAWN_DELAY_MS: '0',
      // Scheduled runs far away: the test checks who holds the trainer, not a training run.
      TRAIN_CRON: '0 0 1 1 *',
      LOG_LEVEL: 'info',
      TRAINER_MODE: 'auto',
      TRAINER_HEARTBEAT_SECONDS: '1',
    };
    const collect = (stream: NodeJS.ReadableStream) => {
      let buf = '';
      stream.on('data', (chunk: Buffer) => {
        buf += chunk.toString('utf8');
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          raw.push(line);
          try {
            lines.push(JSON.parse(line));
          } catch {
            // stderr text (or a line torn by two processes writing at once): kept in `raw` only
          }
        }
      });
    };
    const machines = full
      ? [{ SHARD_COUNT: 'auto' }]
      : [
          { SHARD_COUNT: '2', SHARD_IDS: '0' },
          { SHARD_COUNT: '2', SHARD_IDS: '1' },
        ];
    for (const extra of machines) {
      const m = spawn(process.execPath, ['--import', 'tsx', 'src/bin/shards.ts'], {
        cwd: ROOT,
        env: { ...env, ...extra },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      managers.push(m);
      exits.push(new Promise((resolve) => m.once('exit', (code, signal) => resolve({ code, signal }))));
      collect(m.stdout!);
      collect(m.stderr!);
    }
    for (const m of managers) {
      const ready = await waitForLog(
        (l) => l.msg === 'all shards ready' && l.pid === m.pid,
        120_000,
        'all shards ready',
      );
      const mem = await waitForLog(
        (l) => l.msg === 'memory after start-up' && l.pid === m.pid,
        30_000,
        'the memory line',
      );
      console.log(
        `[shards, ${layout}] manager ${m.pid}: start-up to its ${ready.shards} shard(s) ready ${ready.startupMs} ms; ` +
          `RSS manager ${mem.managerRssMB} MB, shards ${JSON.stringify(mem.shardRssMB)} MB (shared 2-core machine, noisy)`,
      );
    }
  }, 180_000);

  afterAll(async () => {
    for (const m of managers) if (m.exitCode === null && m.signalCode === null) m.kill('SIGKILL');
    for (const l of logged((x) => x.msg === 'shard process started')) {
      try {
        process.kill(l.shardPid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await fake?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe(`npm run start:shards (${layout}: ${full ? 'SQLite' : 'PostgreSQL'})`, () => {
    it('starts the shard count Discord recommends (or SHARD_COUNT/SHARD_IDS), each guild on its own shard, commands registered once', () => {
      if (full)
        expect(logged((l) => l.msg === 'starting 2 shards')[0]).toMatchObject({
          shards: 2,
          ids: [0, 1],
          source: 'recommended by Discord',
        });
      else {
        expect(
          logged((l) => /^starting shard \d of 2 \(the others run elsewhere\)$/.test(String(l.msg)))
            .map((l) => l.ids)
            .sort(),
        ).toEqual([[0], [1]]);
      }
      const identifies = fake.gatewayLog.filter((r) => r.dir === 'in' && r.op === 2).map((r) => r.d.shard);
      expect(identifies.sort()).toEqual([
        [0, 2],
        [1, 2],
      ]);
      const connected = logged((l) => l.msg === 'connected to Discord');
      expect(connected.map((l) => [l.shard, l.guilds]).sort()).toEqual([
        [0, 1],
        [1, 1],
      ]);
      const puts = fake.requests.filter((r) => r.method === 'PUT' && /^\/applications\/\d+\/commands$/.test(r.route));
      expect(puts).toHaveLength(1);
      expect(fake.commands.global.map((c) => c.name)).toContain('shoe');
      // The token never reaches a log line (shards get it through their environment).
      expect(raw.some((l) => l.includes(fake.token))).toBe(false);
    });

    it('answers /shoe on both shards, each from its own generator, and votes from both land in the one database', async () => {
      const a = await shoeIn(0, ALICE);
      const b = await shoeIn(1, BOB);
      for (const r of [a, b]) expect(r.reply.message.attachments[0]?.content_type).toBe('image/png');
      // Each interaction went to, and was handled by, the shard of its guild.
      const handled = (id: string) =>
        waitForLog((l) => l.msg === 'interaction handled' && l.interaction === id, 10_000, `the log of ${id}`);
      expect((await handled(a.it.id)).shard).toBe(0);
      expect((await handled(b.it.id)).shard).toBe(1);
      expect(logged((l) => l.msg === 'interaction handled' && [a.it.id, b.it.id].includes(l.interaction))).toHaveLength(
        2,
      );
      const loaded = logged((l) => /generator|checkpoint/i.test(String(l.msg)) && typeof l.shard === 'number');
      expect(new Set(loaded.map((l) => l.shard))).toEqual(new Set([0, 1]));

      const voter = '100000000000000077';
      fake.addReaction({ messageId: a.reply.message.id, emoji: voteEmojiFor(2)[0], user: voter });
      fake.addReaction({ messageId: b.reply.message.id, emoji: voteEmojiFor(2)[1], user: voter });
      let db: PrismaClient | undefined;
      try {
        db = await openDatabase(dbUrl, { migrate: false });
        const t0 = Date.now();
        let votes: { design: { messageId: string | null } }[] = [];
        while (Date.now() - t0 < 20_000) {
          votes = await db.vote.findMany({ where: { userId: voter }, include: { design: true } });
          if (votes.length >= 2) break;
          await sleep(100);
        }
        expect(votes.map((v) => v.design.messageId).sort()).toEqual([a.reply.message.id, b.reply.message.id].sort());
        const designs = await db.design.count({
          where: { messageId: { in: [a.reply.message.id, b.reply.message.id] } },
        });
        expect(designs).toBe(4);
      } finally {
        await db?.$disconnect();
      }
    }, 120_000);

    it('runs the trainer in one process only: a manager holds the lease, shards start with TRAINER_MODE=off', async () => {
      const holding = await waitForLog((l) => /^holding the trainer lease/.test(String(l.msg)), 30_000, 'the lease');
      const managerPids = managers.map((m) => m.pid);
      expect(managerPids).toContain(holding.pid);
      expect(holding.part).toBe('trainer');
      // With two managers the other one follows (it would take over if the holder stopped heartbeating).
      if (!full)
        await waitForLog(
          (l) =>
            /^the trainer lease is held by/.test(String(l.msg)) && l.pid !== holding.pid && managerPids.includes(l.pid),
          30_000,
          'the follower',
        );
      let db: PrismaClient | undefined;
      try {
        db = await openDatabase(dbUrl, { migrate: false });
        const leases = await db.trainerLease.findMany();
        expect(leases).toHaveLength(1);
        expect(leases[0].ownerId.split(':')[1]).toBe(String(holding.pid));
      } finally {
        await db?.$disconnect();
      }
      // No shard ever contended for the lease; exactly one process ever held it.
      const shardPids = new Set(logged((l) => l.msg === 'shard process started').map((l) => l.shardPid));
      expect(logged((l) => /trainer lease/.test(String(l.msg)) && shardPids.has(l.pid))).toEqual([]);
      expect(logged((l) => /^holding the trainer lease/.test(String(l.msg)))).toHaveLength(1);
      // A shard answers /train status from the trainer's snapshot in the database.
      const it = fake.sendCommand({
        name: 'train',
        subcommand: 'status',
        user: ADMIN_ID,
        guildId: g[1],
        channelId: fake.guilds[1].channels[0].id,
      });
      const reply = await fake.waitForReply(it, { timeoutMs: 30_000 });
      expect(reply.message.content).toContain(`Trainer: on \`${os.hostname()}\` (TRAINER_MODE=auto)`);
    }, 60_000);

    // Not database-specific: with SQLite only.
    if (full) {
      it('hot-swaps every shard to a checkpoint published in manifest.json', async () => {
        await tinyCheckpoint(path.join(dir, 'models'), 'tiny-v2', 7);
        for (const shard of [0, 1]) {
          await waitForLog(
            (l) => l.shard === shard && l.version === 'tiny-v2' && /hot-swapped/.test(String(l.msg)),
            30_000,
            `shard ${shard} swapping`,
          );
        }
        for (const guild of [0, 1] as const) expect((await shoeIn(guild)).reply.message.content).toContain('tiny-v2');
      }, 90_000);

      it('respawns a killed shard, which then serves its guild again', async () => {
        const started = logged((l) => l.msg === 'shard process started' && l.shard === 1).at(-1)!;
        const readyBefore = logged((l) => l.msg === 'shard ready' && l.shard === 1).length;
        process.kill(started.shardPid, 'SIGKILL');
        const died = await waitForLog(
          (l) => l.msg === 'shard process died; respawning' && l.shard === 1,
          20_000,
          'the death',
        );
        expect(died).toMatchObject({ shardPid: started.shardPid, signal: 'SIGKILL' });
        await waitForLog(
          (l) =>
            l.msg === 'shard ready' &&
            l.shard === 1 &&
            logged((x) => x.msg === 'shard ready' && x.shard === 1).length > readyBefore,
          90_000,
          'shard 1 ready again',
        );
        const again = logged((l) => l.msg === 'shard process started' && l.shard === 1).at(-1)!;
        expect(again.shardPid).not.toBe(started.shardPid);
        const r = await shoeIn(1, BOB);
        expect(r.reply.message.attachments).toHaveLength(1);
        // Still registered once: only shard 0 registers.
        expect(
          fake.requests.filter((q) => q.method === 'PUT' && /^\/applications\/\d+\/commands$/.test(q.route)),
        ).toHaveLength(1);
      }, 120_000);
    }

    it('stops on SIGTERM: interactions in flight are answered, shards exit, then the managers exit 0', async () => {
      const pids = Object.values(
        Object.fromEntries(
          logged((l) => l.msg === 'shard process started').map((l) => [l.shard, l.shardPid as number]),
        ),
      ) as number[];
      const channelId = fake.guilds[0].channels[0].id;
      // Several requests queue up in shard 0; the stop arrives while they are being served.
      const users = ['100000000000000011', '100000000000000012', '100000000000000013', '100000000000000014'];
      const its = users.map((user) =>
        fake.sendCommand({ name: 'shoe', options: { count: 4 }, user, guildId: g[0], channelId }),
      );
      await fake.waitForRequest((r) => r.route === `/interactions/${its[0].id}/${its[0].token}/callback`, {
        timeoutMs: 30_000,
      });
      stoppingOnPurpose = true;
      for (const m of managers) m.kill('SIGTERM');
      for (const it of its) {
        const reply = await fake.waitForReply(it, { timeoutMs: 30_000 });
        expect(reply.message.attachments[0]?.content_type).toBe('image/png');
      }
      for (const exit of await Promise.all(exits)) expect(exit).toEqual({ code: 0, signal: null });
      expect(
        logged((l) => l.msg === 'shard stopped')
          .map((l) => [l.shard, l.exitCode])
          .sort(),
      ).toEqual([
        [0, 0],
        [1, 0],
      ]);
      expect(logged((l) => l.msg === 'shard manager stopped')).toHaveLength(managers.length);
      // At least one of them was still in flight when shard 0 was asked to stop.
      const stopAt = logged((l) => l.msg === 'stop requested by the shard manager' && l.shard === 0)[0]?.time;
      const doneAt = logged((l) => l.msg === 'interaction handled' && its.some((it) => it.id === l.interaction)).map(
        (l) => l.time as number,
      );
      expect(stopAt).toBeTypeOf('number');
      expect(doneAt).toHaveLength(its.length);
      expect(Math.max(...doneAt)).toBeGreaterThan(stopAt);
      for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    }, 90_000);
  });
}

shardSuite('one machine');
shardSuite('two machines');
