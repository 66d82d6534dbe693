/**
 * Scheduled training from the bot's side, with the real trainer child process
 * (src/bin/trainer-child.ts) on a tiny model and dataset: /train for admins
 * and others, a run from scratch that becomes the generator, a run during
 * which /shoe keeps answering and the event loop stays responsive, a
 * hot-swap under continuous requests, stop, a crash, rollback.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { listCheckpoints, setActiveCheckpoint } from '../../src/gan/catalogue.ts';
import { loadGeneratorCheckpoint } from '../../src/gan/checkpoint-load.ts';
import { readManifest } from '../../src/gan/manifest.ts';
import { TrainingScheduler } from '../../src/trainer/scheduler.ts';
import { qualityVerdict } from '../../src/trainer/quality-gate.ts';
import type { LastRunInfo } from '../../src/trainer/run-record.ts';
import type { SwapEvent } from '../../src/trainer/activation.ts';
import { LocalTraining } from '../../src/trainer/local.ts';
import { openDatabase } from '../../src/db/client.ts';
import { upsertCheckpoint } from '../../src/db/training.ts';
import { makeDataset, TINY_FLAGS } from './helpers.ts';
import {
  ADMIN_ID,
  ALICE,
  BOB,
  expectNoUnhandled,
  pngSize,
  sleep,
  startHarness,
  tempDir,
  type Harness,
} from '../bot/harness.ts';

let h: Harness;
let datasetDir: string;

/** A second, unscheduled and quiet trainer runner on the harness's bot (its store and generator). */
function quietRunner(args: string[]): TrainingScheduler {
  return new TrainingScheduler({
    config: h.config,
    db: h.bot.ctx.store.db,
    generation: h.bot.ctx.generation,
    log: h.bot.ctx.log,
    schedule: false,
    forwardStderr: false,
    args,
  });
}

/** A dataset whose meta.json exists but whose pixels don't: the trainer starts, then fails. */
function brokenDataset(): string {
  const dir = path.join(h.dir, 'broken-dataset');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'meta.json'),
    JSON.stringify({
      name: 'broken',
      source: 'test',
      height: 32,
      width: 32,
      channels: 1,
      trainCount: 64,
      heldoutCount: 16,
    }),
  );
  return dir;
}

function nextEvent<T extends 'run-finished' | 'swap'>(
  type: T,
  timeoutMs = 90_000,
): Promise<T extends 'swap' ? SwapEvent : LastRunInfo> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => (off(), reject(new Error(`timed out waiting for ${type}`))), timeoutMs);
    const off = h.bot.scheduler!.on((e) => {
      if (e.type !== type) return;
      clearTimeout(t);
      off();
      resolve((e.type === 'swap' ? e.swap : e.run) as never);
    });
  });
}

beforeAll(async () => {
  datasetDir = path.join(tempDir(), 'dataset');
  await makeDataset(datasetDir);
  h = await startHarness({
    generator: null,
    bot: {
      trainer: {
        schedule: false,
        stopTimeoutMs: 60_000,
        forwardStderr: false,
        args: ['--dataset', datasetDir, ...TINY_FLAGS],
      },
      watchManifest: { debounceMs: 100, pollMs: 500 },
    },
  });
});
afterAll(async () => {
  await h?.close();
  fs.rmSync(path.dirname(datasetDir), { recursive: true, force: true });
});
afterEach(() => expectNoUnhandled());

describe('quality gate', () => {
  it('accepts without a comparable figure, rejects a candidate worse by more than the margin', () => {
    expect(qualityVerdict({}, undefined, 0.1).accept).toBe(true);
    expect(qualityVerdict({ kid: 1 }, {}, 0.1).accept).toBe(true);
    expect(qualityVerdict({ kid: 1.05 }, { kid: 1 }, 0.1).accept).toBe(true);
    expect(qualityVerdict({ kid: 1.2 }, { kid: 1 }, 0.1)).toMatchObject({ accept: false });
    expect(qualityVerdict({ fid: 50 }, { fid: 100 }, 0.1).accept).toBe(true);
    expect(qualityVerdict({ sneakerShare: 0.5 }, { sneakerShare: 0.9 }, 0.1).accept).toBe(false);
  });
});

describe('/train and scheduled training', () => {
  it('explains that no generator is loaded yet', async () => {
    const r = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', user: ALICE }));
    expect(r.ephemeral).toBe(true);
    expect(r.message.content).toContain('No sneaker generator is loaded yet');
  });

  it('/train is for admins only', async () => {
    for (const subcommand of ['status', 'run', 'stop', 'rollback']) {
      const r = await h.fake.waitForReply(h.fake.sendCommand({ name: 'train', subcommand, user: BOB }));
      expect(r.ephemeral).toBe(true);
      expect(r.message.content).toContain('Only shoebot admins');
    }
    expect(h.bot.scheduler!.state).toBe('idle');
  });

  it('/train status for an admin: state, backend, schedule, and a loss plot PNG', async () => {
    const r = await h.fake.waitForReply(h.fake.sendCommand({ name: 'train', subcommand: 'status', user: ADMIN_ID }));
    expect(r.ephemeral).toBe(true);
    expect(r.message.content).toContain('State: **idle**');
    expect(r.message.content).toContain('Active checkpoint: none');
    expect(r.message.content).toContain('Backend: WASM');
    expect(r.message.content).toContain('Last run: none yet');
    expect(r.message.attachments[0].filename).toBe('losses.png');
    expect(pngSize(r.message.attachments[0].data)).toEqual({ width: 640, height: 320 });
  });

  it('an admin starts a run from scratch; its checkpoint becomes the generator', async () => {
    const finished = nextEvent('run-finished');
    const swapped = nextEvent('swap');
    const r = await h.fake.waitForReply(
      h.fake.sendCommand({ name: 'train', subcommand: 'run', options: { steps: 4 }, user: ADMIN_ID }),
    );
    expect(r.message.content).toContain('Training started (4 steps');
    const again = await h.fake.waitForReply(h.fake.sendCommand({ name: 'train', subcommand: 'run', user: ADMIN_ID }));
    expect(again.message.content).toContain('already going');
    const swap = await swapped;
    const run = await finished;
    expect(run.status).toBe('succeeded');
    expect(run.steps).toBe(4);
    expect(swap).toMatchObject({ accepted: true, version: run.checkpointVersion });
    expect(h.bot.ctx.generation.active?.version).toBe(run.checkpointVersion);
    const rows = await h.bot.ctx.store.db.trainingRun.findMany();
    expect(rows.map((x) => [x.status, x.trigger, x.steps, x.checkpointVersion])).toEqual([
      ['succeeded', 'admin', 4, run.checkpointVersion],
    ]);
    expect(
      (await h.bot.ctx.store.db.checkpoint.findUnique({ where: { version: run.checkpointVersion! } }))?.status,
    ).toBe('active');
    const shoe = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count: 2 }, user: ALICE }));
    expect(shoe.message.content).toContain(`checkpoint \`${run.checkpointVersion}\``);
  });

  it('keeps answering /shoe during a run (event loop responsive) and swaps without failing a request', async () => {
    const before = h.bot.ctx.generation.active!.version;
    // Baseline: the same request pattern without training. The machine is shared, so the
    // bound below is relative to it (training runs in another process and must not add delay).
    const baseline = monitorEventLoopDelay({ resolution: 5 });
    baseline.enable();
    for (let k = 0; k < 15; k++)
      await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count: 1, seed: 77 }, user: ADMIN_ID }));
    baseline.disable();
    const histogram = monitorEventLoopDelay({ resolution: 5 });
    const swapped = nextEvent('swap');
    const finished = nextEvent('run-finished');
    expect(h.bot.scheduler!.runNow('admin', 8)).toEqual({ started: true });
    histogram.enable();

    // Status while running.
    while (!h.bot.scheduler!.currentRun?.progress) await sleep(50);
    const st = await h.fake.waitForReply(h.fake.sendCommand({ name: 'train', subcommand: 'status', user: ADMIN_ID }));
    expect(st.message.content).toMatch(/State: \*\*running\*\*/);
    expect(st.message.content).toMatch(/Current run #\d+ \(admin\): step \d+\/\d+/);
    expect(st.message.content).toMatch(/Last losses: D \d/);
    expect(st.message.content).toContain('Label smoothing: on (real = 0.9)');
    expect(st.message.content).toContain("beyond the seed's recipe: ");

    // Continuous requests across the swap.
    let swapDone = false;
    void swapped.then(() => (swapDone = true));
    const replies: { version: string; afterSwap: boolean }[] = [];
    let after = 0;
    let i = 0;
    while (after < 3) {
      const wasSwapped = swapDone;
      const r = await h.fake.waitForReply(
        h.fake.sendCommand({ name: 'shoe', options: { count: 1, seed: 77 }, user: ADMIN_ID }),
        { timeoutMs: 30_000 },
      );
      expect(r.ephemeral, r.message.content).toBe(false);
      const version = /checkpoint `([^`]+)`/.exec(r.message.content)![1];
      replies.push({ version, afterSwap: wasSwapped });
      if (wasSwapped) after++;
      if (++i > 2000) throw new Error('no swap happened');
    }
    histogram.disable();
    const swap = await swapped;
    await finished;
    expect(swap.accepted).toBe(true);
    expect(swap.previous).toBe(before);
    expect(replies.filter((r) => r.afterSwap).every((r) => r.version === swap.version)).toBe(true);
    expect(replies.filter((r) => !r.afterSwap).every((r) => r.version === before || r.version === swap.version)).toBe(
      true,
    );
    const p99 = histogram.percentile(99) / 1e6;
    const base99 = baseline.percentile(99) / 1e6;
    console.log(
      `event-loop delay: without training p50 ${(baseline.percentile(50) / 1e6).toFixed(1)} ms p99 ${base99.toFixed(1)} ms; ` +
        `during training p50 ${(histogram.percentile(50) / 1e6).toFixed(1)} ms p99 ${p99.toFixed(1)} ms max ${(histogram.max / 1e6).toFixed(1)} ms; ` +
        `${replies.length} /shoe replies; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`,
    );
    // 50 ms on an idle machine; on a loaded, shared one, no worse than 3x the no-training baseline.
    expect(p99).toBeLessThan(Math.max(50, 3 * base99));
  });

  it('an admin stops a run: it ends as stopped, with a checkpoint', async () => {
    const finished = nextEvent('run-finished');
    expect(h.bot.scheduler!.runNow('admin', 100_000).started).toBe(true);
    while (!h.bot.scheduler!.currentRun?.progress) await sleep(50);
    const r = await h.fake.waitForReply(h.fake.sendCommand({ name: 'train', subcommand: 'stop', user: ADMIN_ID }));
    expect(r.message.content).toContain('Stopping');
    const run = await finished;
    expect(run.status).toBe('stopped');
    expect(run.steps).toBeLessThan(100_000);
    expect(run.checkpointVersion).toBeTruthy();
  });

  it('a trainer crash is recorded as a failed run and changes nothing for users', async () => {
    const active = h.bot.ctx.generation.active!.version;
    const crashing = quietRunner(['--dataset', brokenDataset(), ...TINY_FLAGS]);
    expect(crashing.runNow('cron', 4).started).toBe(true);
    await crashing.waitIdle();
    expect(crashing.lastRun?.status).toBe('failed');
    expect(crashing.lastRun?.error).toContain('broken-dataset');
    const row = await h.bot.ctx.store.db.trainingRun.findUnique({ where: { id: crashing.lastRun!.runId } });
    expect(row?.status).toBe('failed');
    expect(row?.error).toContain('unreadable');
    expect(h.bot.ctx.generation.active!.version).toBe(active);
    const shoe = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count: 1 }, user: ALICE }));
    expect(shoe.message.content).toContain(`checkpoint \`${active}\``);
  });

  it('a missing dataset is refused before starting: clear /train run reply, cron ticks skip without recording a run', async () => {
    const lines: string[] = [];
    const runner = new TrainingScheduler({
      config: { ...h.config, TRAIN_CRON: '* * * * * *' },
      db: h.bot.ctx.store.db,
      generation: h.bot.ctx.generation,
      log: createLogger({ level: 'info', destination: { write: (l: string) => void lines.push(l) } }),
      forwardStderr: false,
      args: TINY_FLAGS, // the active model's dataset ("tiny") under this DATA_DIR: not imported in this test
    });
    expect(runner.datasetProblem()).toMatch(
      /dataset "tiny" was not found.*`npm run data:import -- --source folder --dir <images> --size 32 --channels 1 --out tiny`/,
    );
    const runs0 = await h.bot.ctx.store.db.trainingRun.count();
    const r = runner.runNow('admin', 4);
    expect(r).toMatchObject({ started: false, noDataset: true });
    expect(r.reason).toContain('"tiny"');
    runner.start();
    while (!lines.some((l) => l.includes('scheduled training skipped: no dataset'))) await sleep(100);
    await runner.stop();
    expect(await h.bot.ctx.store.db.trainingRun.count()).toBe(runs0);
    expect(runner.state).toBe('idle');

    // The bot's own runner (with a dataset) answers /train run normally; one without says how to make one.
    const bare = new TrainingScheduler({
      config: h.config,
      db: h.bot.ctx.store.db,
      generation: h.bot.ctx.generation,
      log: h.bot.ctx.log,
      schedule: false,
      args: TINY_FLAGS,
    });
    const own = h.bot.ctx.training;
    h.bot.ctx.training = () => new LocalTraining({ scheduler: bare, config: h.config });
    try {
      const reply = await h.fake.waitForReply(
        h.fake.sendCommand({ name: 'train', subcommand: 'run', options: { steps: 4 }, user: ADMIN_ID }),
      );
      expect(reply.message.content).toContain('Not started: the training dataset "tiny" was not found');
      expect(reply.message.content).toContain('`npm run data:import -- --source folder --dir <images>');
      expect(reply.message.content).not.toContain('Training started');
      expect(reply.ephemeral).toBe(true);
    } finally {
      h.bot.ctx.training = own;
    }
    expect(await h.bot.ctx.store.db.trainingRun.count()).toBe(runs0);

    // Runs continue on their model's own data: the shipped colour model names sneakers-64 and how to import photos.
    const shipped = new TrainingScheduler({
      config: { ...h.config, MODELS_DIR: path.resolve('models') },
      db: h.bot.ctx.store.db,
      generation: h.bot.ctx.generation,
      log: h.bot.ctx.log,
      schedule: false,
    });
    expect(shipped.datasetProblem()).toMatch(
      /"sneakers-64" was not found.*--source folder --dir <images> --size 64 --channels 3 --out sneakers-64/,
    );
  });

  it('/train status lists checkpoints with their status; rollback switches back', async () => {
    const active = h.bot.ctx.generation.active!.version;
    const st = await h.fake.waitForReply(h.fake.sendCommand({ name: 'train', subcommand: 'status', user: ADMIN_ID }));
    expect(st.message.content).toContain(`\`${active}\` · active`);
    expect(st.message.content).toMatch(/Last run #\d+: \*\*(failed|stopped)\*\*/);
    expect(st.message.content).toContain('Checkpoints (newest first)');
    const bad = await h.fake.waitForReply(
      h.fake.sendCommand({ name: 'train', subcommand: 'rollback', options: { version: 'nope' }, user: ADMIN_ID }),
    );
    expect(bad.message.content).toContain('Rollback failed: no usable checkpoint named nope');
    const rb = await h.fake.waitForReply(h.fake.sendCommand({ name: 'train', subcommand: 'rollback', user: ADMIN_ID }));
    expect(rb.message.content).toMatch(/Active checkpoint is now `[^`]+`/);
    expect(h.bot.ctx.generation.active!.version).not.toBe(active);
    const shoe = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count: 1 }, user: ALICE }));
    expect(shoe.message.content).toContain(`checkpoint \`${h.bot.ctx.generation.active!.version}\``);
  });

  it('cron starts runs on TRAIN_CRON, one at a time (ticks during a run are skipped and logged)', async () => {
    const lines: string[] = [];
    const runner = new TrainingScheduler({
      // Every second, and a run far longer than that (stopped below): ticks must fall inside it.
      config: { ...h.config, TRAIN_CRON: '* * * * * *', TRAIN_STEPS: 1_000_000 },
      db: h.bot.ctx.store.db,
      generation: h.bot.ctx.generation,
      log: createLogger({ level: 'info', destination: { write: (l: string) => void lines.push(l) } }),
      forwardStderr: false,
      args: ['--dataset', datasetDir, ...TINY_FLAGS],
    });
    const lastId = (await h.bot.ctx.store.db.trainingRun.findFirst({ orderBy: { id: 'desc' } }))?.id ?? 0;
    runner.start();
    expect(runner.nextRun()).toBeInstanceOf(Date);
    while (!runner.currentRun) await sleep(50);
    const skipped = () => lines.filter((l) => l.includes('scheduled training skipped')).length;
    const deadline = Date.now() + 30_000; // a clear failure instead of the suite's timeout
    while (skipped() < 2 && Date.now() < deadline) await sleep(50);
    await runner.stop();
    expect(skipped()).toBeGreaterThanOrEqual(2);
    const cronRuns = await h.bot.ctx.store.db.trainingRun.findMany({ where: { trigger: 'cron', id: { gt: lastId } } });
    expect(cronRuns.map((r) => r.status)).toEqual(['stopped']);
    expect(runner.nextRun()).toBeNull();
  });

  it('the quality gate keeps a worse candidate as rejected and leaves the generator alone', async () => {
    // Pretend the active checkpoint is excellent (KID ~0); the candidate is measured for real.
    const activeVersion = h.bot.ctx.generation.active!.version;
    const reloaded = await loadGeneratorCheckpoint(h.config.MODELS_DIR, activeVersion);
    await h.bot.ctx.generation.swap({ ...reloaded, metrics: { kid: 1e-6 } });
    const gated = quietRunner(['--dataset', datasetDir, ...TINY_FLAGS.filter((f) => f !== '--no-eval')]);
    const swaps: SwapEvent[] = [];
    gated.on((e) => void (e.type === 'swap' && swaps.push(e.swap)));
    expect(gated.runNow('cron', 2).started).toBe(true);
    await gated.waitIdle();
    expect(gated.lastRun?.status).toBe('succeeded');
    expect(swaps).toHaveLength(1);
    expect(swaps[0]).toMatchObject({ accepted: false, previous: activeVersion });
    expect(swaps[0].reason).toMatch(/^KID [\d.]+ vs active 0\.00000100 \(worse by more than 10%\)$/);
    const row = await h.bot.ctx.store.db.checkpoint.findUnique({ where: { version: swaps[0].version } });
    expect(row?.status).toBe('rejected');
    expect(row?.kid).toBeGreaterThan(0);
    expect(h.bot.ctx.generation.active!.version).toBe(activeVersion);
    expect((await readManifest(h.config.MODELS_DIR)).active).toBe(activeVersion);
    const st = await h.fake.waitForReply(h.fake.sendCommand({ name: 'train', subcommand: 'status', user: ADMIN_ID }));
    expect(st.message.content).toContain(`\`${swaps[0].version}\` · rejected`);
  });

  it('the running bot follows manifest.json changed outside it (npm run train -- --activate V), not its own changes', async () => {
    const served = h.bot.ctx.generation.active!.version;
    const other = (await listCheckpoints(h.config.MODELS_DIR))
      .filter((c) => !c.error && c.version !== served)
      .at(-1)!.version;
    const swapped = nextEvent('swap', 30_000);
    await setActiveCheckpoint(h.config.MODELS_DIR, other); // what `npm run train -- --activate` does
    expect(await swapped).toMatchObject({ version: other, previous: served, accepted: true });
    expect(h.bot.ctx.generation.active!.version).toBe(other);
    expect(h.logLines.some((l) => l.includes('manifest.json changed outside this process'))).toBe(true);
    const shoe = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count: 1 }, user: ALICE }));
    expect(shoe.message.content).toContain(`checkpoint \`${other}\``);
    const row = await h.bot.ctx.store.db.checkpoint.findUnique({ where: { version: other } });
    expect(row?.status).toBe('active');

    // The bot's own rollback rewrites the manifest too: the watcher must not undo or repeat it.
    const lines0 = h.logLines.length;
    await h.bot.scheduler!.rollback(served);
    await sleep(1500);
    expect(h.bot.ctx.generation.active!.version).toBe(served);
    expect(h.logLines.slice(lines0).some((l) => l.includes('manifest.json changed outside this process'))).toBe(false);

    // A manifest naming a broken checkpoint keeps the current generator (one warning).
    fs.writeFileSync(
      path.join(h.config.MODELS_DIR, 'manifest.json'),
      JSON.stringify({ active: 'no-such-version', updatedAt: new Date().toISOString() }),
    );
    while (!h.logLines.slice(lines0).some((l) => l.includes('does not load; keeping the current generator')))
      await sleep(100);
    expect(h.bot.ctx.generation.active!.version).toBe(served);
    await setActiveCheckpoint(h.config.MODELS_DIR, served);
  });

  it('a corrupted active checkpoint at start-up: the newest previously served one is served, with a warning and a status note', async () => {
    const copy = path.join(tempDir(), 'models');
    fs.cpSync(h.config.MODELS_DIR, copy, { recursive: true });
    const all = (await listCheckpoints(copy)).filter((c) => !c.error);
    expect(all.length).toBeGreaterThanOrEqual(3);
    const broken = all[0].version;
    // Served to users before (retired in the database), but neither the newest nor the best: the
    // fallback must prefer it over newer, never-served candidates.
    const previouslyServed = all[1].version;
    await setActiveCheckpoint(copy, broken);
    const w = path.join(copy, 'checkpoints', broken, 'generator', 'weights.bin');
    const bytes = fs.readFileSync(w);
    bytes[0] ^= 0xff;
    fs.writeFileSync(w, bytes);
    const dbUrl = `file:${path.join(path.dirname(copy), 'bot.db')}`;
    const db = await openDatabase(dbUrl);
    await upsertCheckpoint(db, { version: previouslyServed, step: all[1].step, status: 'retired' });
    await db.$disconnect();
    const h2 = await startHarness({
      // A new database beside a copy of h's MODELS_DIR (whose design-id mark is h's): accepted on purpose.
      env: { MODELS_DIR: copy, DATABASE_URL: dbUrl, ALLOW_NEW_DATABASE: '1' },
      // No --dataset and none under DATA_DIR: start-up warns once, /shoe still works.
      bot: {
        generator: undefined,
        trainer: { schedule: false, forwardStderr: false, args: TINY_FLAGS },
        watchManifest: false,
      },
    });
    try {
      expect(h2.bot.ctx.generation.active?.version).toBe(previouslyServed);
      expect(h2.logLines.filter((l) => l.includes(`does not load; serving ${previouslyServed} instead`))).toHaveLength(
        1,
      );
      expect(h2.logLines.find((l) => l.includes('does not load; serving'))).toContain(broken);
      const shoe = await h2.fake.waitForReply(
        h2.fake.sendCommand({ name: 'shoe', options: { count: 1 }, user: ALICE }),
      );
      expect(shoe.message.content).toContain(`checkpoint \`${previouslyServed}\``);
      const st = await h2.fake.waitForReply(
        h2.fake.sendCommand({ name: 'train', subcommand: 'status', user: ADMIN_ID }),
      );
      expect(st.message.content).toContain(`manifest.json names \`${broken}\` but it failed to load at start-up`);
      expect(st.message.content).not.toContain(`\`${broken}\` · retired`);
      expect(h2.logLines.filter((l) => l.includes('no training dataset'))).toHaveLength(1);
      expect(st.message.content).toContain('Training is not possible yet: the training dataset "tiny" was not found');
    } finally {
      await h2.close();
      fs.rmSync(path.dirname(copy), { recursive: true, force: true });
    }
  });

  it('shutting the bot down lets a running trainer write its checkpoint (run recorded as stopped)', async () => {
    const trainer = h.bot.scheduler!;
    expect(trainer.runNow('admin', 100_000).started).toBe(true);
    while (!trainer.currentRun?.progress) await sleep(50);
    const runId = trainer.currentRun.runId;
    await h.bot.stop();
    const row = await h.bot.ctx.store.db.trainingRun.findUnique({ where: { id: runId } });
    expect(row?.status).toBe('stopped');
    expect(row?.checkpointVersion).toBeTruthy();
    expect(row?.endedAt).toBeInstanceOf(Date);
    expect(h.fake.connectedSessions).toBe(0);
  });
});
