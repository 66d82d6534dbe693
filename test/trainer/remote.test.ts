/**
 * A trainer on "another machine": a standalone `npm run trainer` process and a bot with
 * TRAINER_MODE=off share a real SQLite file and a models directory. The trainer holds the lease,
 * trains a tiny model and publishes; the bot hot-swaps via manifest.json; /train status in the bot
 * shows the trainer's snapshot; /train run|stop|rollback from the bot are carried out by the
 * trainer; a corrupt published checkpoint is not swapped in; a killed trainer shows as not
 * responding and is taken over by the next one; a stopped one releases the lease.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { readLease, NO_OWNER } from '../../src/db/trainer-lease.ts';
import { listCheckpoints } from '../../src/gan/catalogue.ts';
import { readManifest } from '../../src/gan/manifest.ts';
import { parseSnapshot } from '../../src/trainer/snapshot.ts';
import { LeaseKeeper } from '../../src/trainer/lease.ts';
import { createLogger } from '../../src/log.ts';
import { ADMIN_ID, ALICE, expectNoUnhandled, sleep, startHarness, tempDir, type Harness } from '../bot/harness.ts';
import { makeDataset, runTs, TINY_FLAGS, type Proc } from './helpers.ts';

const root = tempDir('shoebot-remote-');
const datasetDir = path.join(root, 'dataset');
const modelsDir = path.join(root, 'shared-models');
const dbUrl = `file:${path.join(root, 'shared.db')}`;
const host = os.hostname();
let h: Harness;
const trainers: Proc[] = [];

function startTrainer(extra: string[] = []): Proc {
  const p = runTs('src/bin/trainer.ts', [...extra, '--', '--dataset', datasetDir, ...TINY_FLAGS], {
    DATABASE_URL: dbUrl,
    MODELS_DIR: modelsDir,
    DATA_DIR: path.join(root, 'trainer-data'),
    TF_BACKEND: 'wasm',
    TRAINER_HEARTBEAT_SECONDS: '1',
    TRAIN_CRON: '0 3 1 1 *', // not during the test
    TRAINER_MODE: '',
    LOG_LEVEL: 'warn',
  });
  trainers.push(p);
  return p;
}

async function until<T>(what: string, f: () => T | Promise<T>, timeoutMs = 60_000): Promise<NonNullable<T>> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v as NonNullable<T>;
    if (Date.now() - t0 > timeoutMs)
      throw new Error(
        `timed out: ${what}\ntrainer output:\n${trainers.map((t) => t.out().slice(-3000)).join('\n---\n')}`,
      );
    await sleep(100);
  }
}

const train = (subcommand: string, options?: Record<string, unknown>) =>
  h.fake.waitForReply(
    h.fake.sendCommand({ name: 'train', subcommand, user: ADMIN_ID, ...(options ? { options } : {}) }),
    { timeoutMs: 30_000 },
  );

beforeAll(async () => {
  await makeDataset(datasetDir);
  // Migrated once here, like an operator's first start; the processes find it migrated.
  await (await openDatabase(dbUrl)).$disconnect();
}, 60_000);
afterAll(async () => {
  for (const t of trainers) t.child.kill('SIGKILL');
  await h?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('standalone trainer + bot with TRAINER_MODE=off', () => {
  it('the trainer takes the lease; the bot (TRAINER_MODE=off) shows its snapshot', async () => {
    const trainer = startTrainer();
    await trainer.waitFor(/holding the trainer lease/, 60_000);
    // No shared models directory yet (a share not mounted looks the same): said on the terminal.
    await trainer.waitFor(
      /trainer: warning: no checkpoint to continue from in \S+ \(the directory does not exist\): the first run trains from scratch/,
      10_000,
    );
    h = await startHarness({
      env: { DATABASE_URL: dbUrl, MODELS_DIR: modelsDir, TRAINER_MODE: 'off', TRAINER_HEARTBEAT_SECONDS: '1' },
      bot: { generator: undefined, trainer: {}, watchManifest: { debounceMs: 50, pollMs: 300, retryMs: 500 } },
    });
    expect(h.bot.scheduler).toBeUndefined();
    expect(h.bot.leaseService).toBeUndefined();
    expect(h.bot.ctx.training()?.where).toBe('remote');
    const st = await train('status');
    expect(st.ephemeral).toBe(true);
    expect(st.message.content).toContain('State: **idle**');
    expect(st.message.content).toMatch(
      new RegExp(`Trainer: on \`${host}\` \\(TRAINER_MODE=local\\) · snapshot \\d+ s old`),
    );
    expect(st.message.content).toContain('Trainer backend: WASM');
    expect(st.message.content).toContain('Active checkpoint: none');
    expect(st.message.attachments[0].filename).toBe('losses.png');
  }, 120_000);

  it('/train run from the bot is carried out by the trainer; the bot hot-swaps to the published checkpoint', async () => {
    const r = await train('run', { steps: 4 });
    expect(r.ephemeral).toBe(true);
    expect(r.message.content).toContain(
      `Training started (4 steps, continuing from \`scratch\`) on the trainer at \`${host}\``,
    );
    const v1 = await until('bot hot-swap', () => h.bot.ctx.generation.active?.version);
    expect((await readManifest(modelsDir)).active).toBe(v1);
    expect(trainers[0].out()).toContain(`published ${v1}`);
    expect(h.logLines.some((l) => l.includes('hot-swapped to its active checkpoint'))).toBe(true);
    const shoe = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count: 1 }, user: ALICE }));
    expect(shoe.message.content).toContain(`checkpoint \`${v1}\``);
    // The run is recorded once, by the trainer.
    const st = await until('run recorded in status', async () => {
      const s = await train('status');
      return /Last run #\d+: \*\*succeeded\*\*/.test(s.message.content) ? s : undefined;
    });
    expect(st.message.content).toContain(`\`${v1}\` · active`);
  }, 120_000);

  it('/train status shows the remote run in progress; /train stop from the bot stops it (checkpoint published)', async () => {
    const before = h.bot.ctx.generation.active!.version;
    const r = await train('run', { steps: 100_000 });
    expect(r.message.content).toContain(`continuing from \`${before}\``);
    const busy = await train('run', { steps: 4 });
    expect(busy.message.content).toContain('Not started: a training run is already going');
    const st = await until('remote progress in /train status', async () => {
      const s = await train('status');
      return /Current run #\d+ \(admin\): step \d+\/\d+/.test(s.message.content) ? s : undefined;
    });
    expect(st.message.content).toContain('State: **running**');
    expect(st.message.content).toMatch(/Last losses: D \d/);
    expect(st.message.content).toContain('Label smoothing: on (real = 0.9)');
    const stop = await train('stop');
    expect(stop.message.content).toContain('Stopping');
    const v2 = await until('stopped run published and swapped', () => {
      const v = h.bot.ctx.generation.active?.version;
      return v && v !== before ? v : undefined;
    });
    await until('stopped run recorded', async () => (await train('status')).message.content.includes('**stopped**'));
    const again = await train('stop');
    expect(again.message.content).toContain('No training run is going');
    expect(v2).not.toBe(before);
  }, 120_000);

  it('/train rollback from the bot: the trainer republishes the earlier checkpoint and every bot follows', async () => {
    const now = h.bot.ctx.generation.active!.version;
    const bad = await train('rollback', { version: 'nope' });
    expect(bad.message.content).toContain('Rollback failed: no usable checkpoint named nope');
    const rb = await train('rollback');
    const target = /Active checkpoint is now `([^`]+)`/.exec(rb.message.content)?.[1];
    expect(target, rb.message.content).toBeTruthy();
    expect(target).not.toBe(now);
    await until('bot follows the rollback', () => h.bot.ctx.generation.active?.version === target);
  }, 60_000);

  it('a corrupt published checkpoint is not swapped in (the bot keeps serving, one warning)', async () => {
    const serving = h.bot.ctx.generation.active!.version;
    const src = (await listCheckpoints(modelsDir)).find((c) => c.version === serving)!;
    const bad = 'corrupt-copy';
    fs.cpSync(src.dir, path.join(modelsDir, 'checkpoints', bad), { recursive: true });
    const w = path.join(modelsDir, 'checkpoints', bad, 'generator', 'weights.bin');
    const bytes = fs.readFileSync(w);
    bytes[7] ^= 0xff;
    fs.writeFileSync(w, bytes);
    const lines0 = h.logLines.length;
    fs.writeFileSync(
      path.join(modelsDir, 'manifest.json'),
      JSON.stringify({ active: bad, updatedAt: new Date().toISOString() }),
    );
    await until('warning', () =>
      h.logLines.slice(lines0).some((l) => l.includes('does not load') && l.includes('sha256')),
    );
    await sleep(1500); // retried quietly, never swapped
    expect(h.bot.ctx.generation.active?.version).toBe(serving);
    expect(h.logLines.slice(lines0).filter((l) => l.includes('does not load')).length).toBe(1);
    const shoe = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count: 1 }, user: ALICE }));
    expect(shoe.message.content).toContain(`checkpoint \`${serving}\``);
    fs.writeFileSync(
      path.join(modelsDir, 'manifest.json'),
      JSON.stringify({ active: serving, updatedAt: new Date().toISOString() }),
    );
  }, 60_000);

  it('a killed trainer shows as not responding; the next trainer takes over after staleness; SIGTERM mid-run checkpoints and releases the lease', async () => {
    const first = trainers[0];
    first.child.kill('SIGKILL');
    await first.exited;
    const st = await until(
      'not responding',
      async () => {
        const s = await train('status');
        return s.message.content.includes('not responding since') ? s : undefined;
      },
      30_000,
    );
    expect(st.message.content).toContain('State: **not responding (last known: idle)**');
    const refused = await train('run', { steps: 4 });
    expect(refused.message.content).toContain(`The trainer on \`${host}\` is not responding`);

    // The next trainer (`npm run trainer -- --now`) takes over once the dead one's heartbeat is stale, and trains.
    const second = startTrainer(['--now', '--steps', '100000']);
    await second.waitFor(/run #\d+ step \d+\/\d+/, 90_000);
    expect(second.out()).toMatch(
      /waiting for the trainer lease[^]*trainer: now holding the trainer lease: this process trains/,
    );
    expect(second.out()).not.toContain('no checkpoint to continue from');
    const lease = await readLease(h.bot.ctx.store.db);
    expect(lease?.ownerId).toMatch(new RegExp(`^${host}:${second.child.pid}:`));
    await until('alive again', async () => (await train('status')).message.content.includes('State: **running**'));
    // The run the killed trainer left 'running' (none here: it was idle) and this one are recorded once each.
    expect(await h.bot.ctx.store.db.trainingRun.count({ where: { status: 'running' } })).toBe(1);

    // SIGTERM during a run: the run stops at the next step, writes its checkpoint, then the lease is released.
    second.child.kill('SIGTERM');
    const exit = await second.exited;
    expect(exit.code, second.out()).toBe(0);
    expect(second.out()).toContain('releasing the lease');
    expect(second.out()).toMatch(/run #\d+ stopped: \d+ steps.*checkpoint \S+/);
    expect(await h.bot.ctx.store.db.trainingRun.count({ where: { status: 'running' } })).toBe(0);
    const released = await readLease(h.bot.ctx.store.db);
    expect(released?.ownerId).toBe(NO_OWNER);
    expect(parseSnapshot(released?.snapshot)?.state).toBe('offline');
    const s2 = await train('status');
    expect(s2.message.content).toContain('State: **no trainer running**');
    expect(s2.message.content).toContain(`Trainer: stopped — the last one ran on \`${host}\``);
    const r2 = await train('stop');
    expect(r2.message.content).toContain('No trainer is running for this shoebot');
    expectNoUnhandled();
  }, 180_000);

  it('a holder whose clock runs a minute behind, heartbeating but not answering: alive, and the request is reported as queued', async () => {
    const db = h.bot.ctx.store.db;
    const silent = new LeaseKeeper({
      db,
      log: createLogger({ level: 'silent' }),
      heartbeatMs: 500,
      host: 'gpu-box',
      now: () => Date.now() - 60_000,
    });
    expect((await silent.tryAcquire()).holding).toBe(true);
    const beat = setInterval(
      () => void silent.heartbeat(JSON.stringify({ v: 1, state: 'idle', host: 'gpu-box', mode: 'local', history: [] })),
      500,
    );
    try {
      const t0 = Date.now();
      const r = await train('run', { steps: 4 });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(4000);
      expect(r.message.content).toMatch(
        /^Queued as request #\d+ for the trainer on `gpu-box`: it has not answered within a few seconds/,
      );
      const id = Number(/#(\d+)/.exec(r.message.content)![1]);
      const st = await train('status');
      expect(st.message.content).toMatch(
        /Trainer: on `gpu-box` \(TRAINER_MODE=local\) · heartbeating, but its clock differs from this bot's by about 1 min/,
      );
      expect((await db.trainerRequest.findUnique({ where: { id } }))?.handledAt).toBeNull();
      await db.trainerRequest.delete({ where: { id } });
    } finally {
      clearInterval(beat);
      await silent.release();
    }
  }, 60_000);
});
