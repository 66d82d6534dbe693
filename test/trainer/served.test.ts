/**
 * chooseServedCheckpoint after a rollback: the manifest names a checkpoint still being copied
 * (truncated weights), so the process must fall back. It must serve the checkpoint the database
 * records as active (the rollback target, served last), not the newest previously served one
 * (the checkpoint the admin rolled back from). Real tiny checkpoints, real SQLite.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../../src/tf/index.ts';
import { runTraining } from '../../src/gan/training-loop.ts';
import { setActiveCheckpoint } from '../../src/gan/catalogue.ts';
import { openDatabase, type Db } from '../../src/db/client.ts';
import { upsertCheckpoint } from '../../src/db/training.ts';
import { chooseServedCheckpoint } from '../../src/trainer/served.ts';
import { createLogger } from '../../src/log.ts';
import { tempDir } from '../bot/harness.ts';
import { makeDataset, TINY_CONFIG } from './helpers.ts';

let root: string;
let modelsDir: string;
let db: Db;
let older: string, rolledBackFrom: string, copying: string;
const log = createLogger({ level: 'silent' });

beforeAll(async () => {
  root = tempDir('shoebot-served-');
  modelsDir = path.join(root, 'models');
  const dataset = path.join(root, 'dataset');
  await makeDataset(dataset);
  await initTf('wasm');
  const common = { modelsDir, dataset, steps: 2, logEvery: 2, trainOptions: { batchSize: 8 } };
  older = (await runTraining({ ...common, config: TINY_CONFIG, seed: 1 })).version!;
  rolledBackFrom = (await runTraining({ ...common, resume: older, reseed: 2, activate: false })).version!;
  copying = (await runTraining({ ...common, resume: older, reseed: 3, activate: false })).version!;
  db = await openDatabase(`file:${path.join(root, 'bot.db')}`);
  // `rolledBackFrom` was published, then an admin rolled back to `older`; now the trainer has
  // published `copying`, whose files have not all arrived on this machine yet.
  await upsertCheckpoint(db, { version: older, step: 2, status: 'active' });
  await upsertCheckpoint(db, { version: rolledBackFrom, step: 4, status: 'retired' });
  await setActiveCheckpoint(modelsDir, copying);
  fs.truncateSync(path.join(modelsDir, 'checkpoints', copying, 'generator', 'weights.bin'), 100);
}, 120_000);
afterAll(async () => {
  await db?.$disconnect();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('chooseServedCheckpoint when the manifest names a half-copied checkpoint', () => {
  it('serves the checkpoint recorded as active (the rollback target), not the newest previously served one', async () => {
    const tensors = tf.memory().numTensors;
    const choice = await chooseServedCheckpoint(modelsDir, db, log);
    expect(choice.problem?.version).toBe(copying);
    expect(choice.generator?.version).toBe(older);
    choice.generator?.model.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('without a usable checkpoint recorded as active: the newest previously served (retired) one', async () => {
    await upsertCheckpoint(db, { version: older, step: 2, status: 'retired' });
    const choice = await chooseServedCheckpoint(modelsDir, db, log);
    expect(choice.generator?.version).toBe(rolledBackFrom);
    choice.generator?.model.dispose();
  });
});
