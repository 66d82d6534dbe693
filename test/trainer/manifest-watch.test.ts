/**
 * The manifest watcher's poll fallback: a models directory that does not
 * exist yet cannot be fs.watch'ed, so a manifest appearing later is noticed
 * by polling; a busy trainer postpones the check. What a shared models
 * directory may show (a copy in progress, a checkpoint the gate rejected) and
 * a bot started in the middle of a copy.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { GenerationService } from '../../src/bot/generation.ts';
import { watchManifest } from '../../src/trainer/manifest-watch.ts';
import { initTf } from '../../src/tf/index.ts';
import { runTraining } from '../../src/gan/training-loop.ts';
import { loadGeneratorCheckpoint } from '../../src/gan/checkpoint-load.ts';
import { openDatabase, type PrismaClient } from '../../src/db/client.ts';
import { upsertCheckpoint } from '../../src/db/training.ts';
import { gateRefusal } from '../../src/trainer/quality-gate.ts';
import { makeDataset, TINY_CONFIG } from './helpers.ts';
import { ALICE, expectNoUnhandled, numTensors, sleep, startHarness, tempDir } from '../bot/harness.ts';

const root = tempDir('shoebot-manifest-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('manifest watcher', () => {
  it('polls when fs.watch is impossible, and waits while the bot is busy', async () => {
    const modelsDir = path.join(root, 'models'); // does not exist yet
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', destination: { write: (l: string) => void lines.push(l) } });
    let busy = true;
    const w = watchManifest({
      modelsDir,
      generation: new GenerationService(),
      log,
      isBusy: () => busy,
      debounceMs: 20,
      pollMs: 100,
    });
    try {
      expect(lines.some((l) => l.includes('cannot fs.watch the models directory'))).toBe(true);
      fs.mkdirSync(modelsDir);
      fs.writeFileSync(
        path.join(modelsDir, 'manifest.json'),
        JSON.stringify({ active: 'missing-version', updatedAt: '' }),
      );
      await sleep(600);
      expect(lines.some((l) => l.includes('does not load'))).toBe(false); // busy: postponed
      busy = false;
      const t0 = Date.now();
      while (!lines.some((l) => l.includes('does not load; keeping the current generator'))) {
        if (Date.now() - t0 > 15_000) throw new Error(`the poll never checked the manifest:\n${lines.join('')}`);
        await sleep(50);
      }
      await sleep(400); // the same broken manifest is not retried (one warning)
      expect(lines.filter((l) => l.includes('does not load')).length).toBe(1);
    } finally {
      w.close();
    }
  });
});

describe('manifest watcher: what a shared models directory can show a bot', () => {
  const dir = path.join(root, 'shared');
  const modelsDir = path.join(dir, 'models');
  const dbUrl = `file:${path.join(dir, 'bot.db')}`;
  let a: string, b: string;
  let db: PrismaClient;

  /** Copies checkpoint `from` as `to`: only checkpoint.json first (a copy in progress), the rest when `finish()` is called. */
  function halfCopy(from: string, to: string): { finish(): void } {
    const src = path.join(modelsDir, 'checkpoints', from);
    const dst = path.join(modelsDir, 'checkpoints', to);
    fs.mkdirSync(dst, { recursive: true });
    fs.copyFileSync(path.join(src, 'checkpoint.json'), path.join(dst, 'checkpoint.json'));
    return { finish: () => fs.cpSync(src, dst, { recursive: true }) };
  }
  const writeManifest = (active: string) =>
    fs.writeFileSync(
      path.join(modelsDir, 'manifest.json'),
      JSON.stringify({ active, updatedAt: new Date().toISOString() }),
    );

  beforeAll(async () => {
    const datasetDir = path.join(dir, 'dataset');
    await makeDataset(datasetDir);
    await initTf('wasm');
    const common = { modelsDir, dataset: datasetDir, steps: 2, logEvery: 2, trainOptions: { batchSize: 8 } };
    a = (await runTraining({ ...common, config: TINY_CONFIG, seed: 1 })).version!;
    b = (await runTraining({ ...common, resume: a, reseed: 2, activate: false })).version!;
    db = await openDatabase(dbUrl);
    await upsertCheckpoint(db, { version: a, step: 2, status: 'active' });
  }, 120_000);
  afterAll(async () => {
    await db?.$disconnect();
  });

  it('a half-copied checkpoint: kept off (one warning), swapped in once the copy completes; a gate-rejected one is refused', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', destination: { write: (l: string) => void lines.push(l) } });
    const generation = new GenerationService();
    await generation.swap(await loadGeneratorCheckpoint(modelsDir, a));
    const before = numTensors();
    const served = (): string | undefined => generation.active?.version;
    const w = watchManifest({
      modelsDir,
      generation,
      log,
      gate: (v, m) => gateRefusal(db, v, m.updatedAt),
      debounceMs: 20,
      pollMs: 100,
      retryMs: 200,
    });
    try {
      const copy = halfCopy(b, 'copied-b');
      writeManifest('copied-b');
      await waitFor(lines, 'does not load; keeping the current generator');
      await sleep(700); // several quiet retries
      expect(generation.active?.version).toBe(a);
      expect(lines.filter((l) => l.includes('does not load')).length).toBe(1);
      copy.finish();
      const t0 = Date.now();
      while (served() !== 'copied-b') {
        if (Date.now() - t0 > 15_000) throw new Error(`never swapped after the copy completed:\n${lines.join('')}`);
        await sleep(50);
      }

      // A checkpoint the gate rejected, named by a manifest written before the gate decided: refused.
      fs.cpSync(path.join(modelsDir, 'checkpoints', b), path.join(modelsDir, 'checkpoints', 'rejected-b'), {
        recursive: true,
      });
      await upsertCheckpoint(db, {
        version: 'rejected-b',
        step: 4,
        status: 'rejected',
        note: 'KID 2.0 vs active 1.0 (worse by more than 10%)',
      });
      writeManifest('rejected-b');
      await sleep(5);
      const run = await db.trainingRun.create({
        data: {
          trigger: 'cron',
          status: 'succeeded',
          endedAt: new Date(Date.now() + 5),
          checkpointVersion: 'rejected-b',
        },
      });
      await waitFor(lines, 'the quality gate rejected it (KID 2.0 vs active 1.0');
      await sleep(500);
      expect(generation.active?.version).toBe('copied-b');
      // An operator activating it on purpose afterwards (npm run train -- --activate): followed.
      await sleep(20);
      expect(Date.now()).toBeGreaterThan(run.endedAt!.getTime());
      writeManifest('rejected-b');
      const t1 = Date.now();
      while (served() !== 'rejected-b') {
        if (Date.now() - t1 > 15_000) throw new Error(`operator activation not followed:\n${lines.join('')}`);
        await sleep(50);
      }
    } finally {
      w.close();
      await generation.close();
    }
    // The generators swapped out were freed (one of the same size is served now).
    expect(numTensors()).toBeLessThanOrEqual(before);
  }, 60_000);

  it('a bot started while the active checkpoint is half-copied serves the previous one, then switches when the copy completes', async () => {
    const copy = halfCopy(b, 'copied-late');
    writeManifest('copied-late');
    const h = await startHarness({
      env: { MODELS_DIR: modelsDir, DATABASE_URL: dbUrl, TRAINER_MODE: 'off' },
      bot: { generator: undefined, watchManifest: { debounceMs: 20, pollMs: 100, retryMs: 200 } },
    });
    try {
      expect(h.bot.ctx.generation.active?.version).toBe(a);
      expect(h.bot.ctx.activeProblem?.version).toBe('copied-late');
      const shoe = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count: 1 }, user: ALICE }));
      expect(shoe.message.content).toContain(`checkpoint \`${a}\``);
      copy.finish();
      const t0 = Date.now();
      while (h.bot.ctx.generation.active?.version !== 'copied-late') {
        if (Date.now() - t0 > 15_000) throw new Error(`never switched:\n${h.logLines.join('')}`);
        await sleep(50);
      }
      expect(h.bot.ctx.activeProblem).toBeUndefined();
      expectNoUnhandled();
    } finally {
      await h.close().catch(() => undefined);
    }
  }, 60_000);
});

async function waitFor(lines: string[], text: string, timeoutMs = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!lines.some((l) => l.includes(text))) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`no "${text}" in:\n${lines.join('')}`);
    await sleep(50);
  }
}
