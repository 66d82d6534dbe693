/**
 * One choice of checkpoint for serving and for training: when the manifest's checkpoint is corrupt,
 * the bot serves the newest previously served one, and a run must continue from THAT one (the
 * runner passes `--resume V`), not from the trainer's own fallback (the newest that verifies, here a
 * rejected candidate). Real trainer child process, tiny model.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTf } from '../../src/tf/index.ts';
import { runTraining } from '../../src/gan/training-loop.ts';
import { chooseResumeCheckpoint } from '../../src/gan/catalogue.ts';
import { readCheckpointMeta } from '../../src/gan/checkpoint-load.ts';
import { readManifest } from '../../src/gan/manifest.ts';
import { openDatabase } from '../../src/db/client.ts';
import { upsertCheckpoint } from '../../src/db/training.ts';
import type { LastRunInfo, RunInfo } from '../../src/trainer/run-record.ts';
import { ADMIN_ID, expectNoUnhandled, startHarness, tempDir, type Harness } from './harness.ts';
import { makeDataset, TINY_CONFIG, TINY_FLAGS } from '../trainer/helpers.ts';

let root: string;
let h: Harness | undefined;
afterAll(async () => {
  await h?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

let served: string, rejected: string, corrupt: string, datasetDir: string, modelsDir: string, dbUrl: string;

beforeAll(async () => {
  root = tempDir('shoebot-resume-');
  datasetDir = path.join(root, 'dataset');
  modelsDir = path.join(root, 'models');
  dbUrl = `file:${path.join(root, 'bot.db')}`;
  await makeDataset(datasetDir);
  await initTf('wasm');
  const common = { modelsDir, dataset: datasetDir, steps: 2, logEvery: 2, trainOptions: { batchSize: 8 } };
  // served: trained, served to users, retired; rejected: newer, refused by the gate; corrupt: newest, active.
  served = (await runTraining({ ...common, config: TINY_CONFIG, seed: 1 })).version!;
  rejected = (await runTraining({ ...common, resume: served, reseed: 2, activate: false })).version!;
  corrupt = (await runTraining({ ...common, resume: served, reseed: 3, activate: true })).version!;
  expect((await readManifest(modelsDir)).active).toBe(corrupt);
  const db = await openDatabase(dbUrl);
  await upsertCheckpoint(db, { version: served, step: 2, status: 'retired' });
  await upsertCheckpoint(db, { version: rejected, step: 4, status: 'rejected', note: 'KID worse' });
  await upsertCheckpoint(db, { version: corrupt, step: 4, status: 'active' });
  await db.$disconnect();
  const w = path.join(modelsDir, 'checkpoints', corrupt, 'generator', 'weights.bin');
  const bytes = fs.readFileSync(w);
  bytes[10] ^= 0xff;
  fs.writeFileSync(w, bytes);
}, 120_000);

describe('corrupt active checkpoint: serving and training follow one choice', () => {
  it('the trainer continues from the served fallback, not from the newest checkpoint that verifies', async () => {
    // Without the runner naming the version, the trainer's own fallback would pick the rejected one.
    expect((await chooseResumeCheckpoint(modelsDir)).version).toBe(rejected);

    h = await startHarness({
      env: { MODELS_DIR: modelsDir, DATABASE_URL: dbUrl },
      bot: {
        generator: undefined,
        trainer: { schedule: false, forwardStderr: false, args: ['--dataset', datasetDir, ...TINY_FLAGS] },
        watchManifest: false,
      },
    });
    const trainer = h.bot.scheduler!;
    expect(h.bot.ctx.generation.active?.version).toBe(served);

    const configs: Record<string, unknown>[] = [];
    const finished = new Promise<LastRunInfo>((resolve) =>
      trainer.on((e) => {
        if (e.type === 'run-progress' && (e.run as RunInfo).config) configs.push((e.run as RunInfo).config!);
        if (e.type === 'run-finished') resolve(e.run);
      }),
    );
    const r = await h.fake.waitForReply(
      h.fake.sendCommand({ name: 'train', subcommand: 'run', options: { steps: 2 }, user: ADMIN_ID }),
    );
    expect(r.message.content).toContain(`continuing from \`${served}\``);
    const run = await finished;
    expect(run.status, run.error).toBe('succeeded');
    expect(configs.at(-1)?.resumedFrom).toBe(served);
    expect((await readCheckpointMeta(modelsDir, run.checkpointVersion!)).parent).toBe(served);
    expect(expectNoUnhandled).not.toThrow();
  }, 120_000);
});
