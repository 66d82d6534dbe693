/**
 * Bot-started runs (the trainer child) reseed their RNGs so that consecutive runs
 * from the same checkpoint differ, while a plain resume stays exact; a
 * corrupted active checkpoint falls back to the newest valid one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../../src/tf/index.ts';
import { chooseResumeCheckpoint, newestValidCheckpoint } from '../../src/gan/catalogue.ts';
import { runTraining } from '../../src/gan/training-loop.ts';
import { checkpointsDir } from '../../src/gan/checkpoint.ts';
import { compareQuality } from '../../src/gan/quality.ts';
import { loadTrainingCheckpoint, readCheckpointMeta } from '../../src/gan/checkpoint-load.ts';
import { joinNegativeValues, parseTrainArgs } from '../../src/bin/train-args.ts';
import { syntheticDataset, tempModelsDirs, TINY, TINY_TRAIN } from './helpers.ts';

const newDir = tempModelsDirs();
beforeAll(async () => {
  await initTf('wasm');
});

async function generatorBytes(modelsDir: string, version: string): Promise<Buffer> {
  const ck = await loadTrainingCheckpoint(modelsDir, version);
  const out = Buffer.concat(
    ck.generator.getWeights().map((t) => Buffer.from((t.dataSync() as Float32Array).slice().buffer)),
  );
  ck.generator.dispose();
  ck.discriminator.dispose();
  return out;
}

function corrupt(modelsDir: string, version: string): void {
  const f = path.join(checkpointsDir(modelsDir), version, 'generator', 'weights.bin');
  const b = fs.readFileSync(f);
  b[10] ^= 0xff;
  fs.writeFileSync(f, b);
}

describe('fresh randomness for bot runs, exact CLI resume', () => {
  const data = syntheticDataset(24);
  it('two reseeded runs from one checkpoint differ; plain resumes are identical', async () => {
    const dir = newDir();
    const base = await runTraining({
      modelsDir: dir,
      dataset: data,
      steps: 3,
      config: TINY,
      trainOptions: TINY_TRAIN,
      seed: 2,
    });
    const run = async (extra: { reseed?: number }) => {
      let started: { runSeed?: number; resumedFrom?: string } | undefined;
      const r = await runTraining({
        modelsDir: dir,
        dataset: data,
        steps: 3,
        resume: base.version,
        activate: false,
        ...extra,
        onStarted: (s) => (started = s),
      });
      return { r, started: started!, bytes: await generatorBytes(dir, r.version!) };
    };
    const before = tf.memory().numTensors;
    const exact1 = await run({});
    const exact2 = await run({});
    const fresh1 = await run({ reseed: 111 });
    const fresh2 = await run({ reseed: 222 });
    const fresh1again = await run({ reseed: 111 });
    expect(tf.memory().numTensors).toBe(before);

    expect(exact1.bytes.equals(exact2.bytes)).toBe(true);
    expect(exact1.started.runSeed).toBeUndefined();
    expect(fresh1.bytes.equals(fresh2.bytes)).toBe(false);
    expect(fresh1.bytes.equals(exact1.bytes)).toBe(false);
    // Same run seed = same run (reproducible when the seed is known).
    expect(fresh1.bytes.equals(fresh1again.bytes)).toBe(true);
    expect(fresh2.started).toMatchObject({ runSeed: 222, resumedFrom: base.version });
    expect((await readCheckpointMeta(dir, fresh2.r.version)).trainer.runSeed).toBe(222);
    expect((await readCheckpointMeta(dir, exact1.r.version)).trainer.runSeed).toBeUndefined();
    expect(fresh2.r.step).toBe(6);
  });

  it('falls back from a corrupted active checkpoint to the newest valid one, else from scratch', async () => {
    const dir = newDir();
    const a = await runTraining({
      modelsDir: dir,
      dataset: data,
      steps: 2,
      config: TINY,
      trainOptions: TINY_TRAIN,
      seed: 3,
    });
    const b = await runTraining({ modelsDir: dir, dataset: data, steps: 1, resume: true });
    expect(await chooseResumeCheckpoint(dir)).toEqual({ version: b.version });
    expect(await newestValidCheckpoint(dir)).toBe(b.version);
    expect(await newestValidCheckpoint(dir, { exclude: [b.version!] })).toBe(a.version!);

    corrupt(dir, b.version!); // b is the active one
    expect(await newestValidCheckpoint(dir)).toBe(a.version);
    const choice = await chooseResumeCheckpoint(dir);
    expect(choice.version).toBe(a.version);
    expect(choice.skipped).toBe(b.version);
    expect(choice.warning).toMatch(
      new RegExp(`checkpoint ${b.version} is corrupted.*newest valid checkpoint ${a.version}`),
    );
    const r = await runTraining({ modelsDir: dir, dataset: data, steps: 1, resume: choice.version!, reseed: 7 });
    expect(r.step).toBe(3);

    const only = newDir();
    const c = await runTraining({ modelsDir: only, dataset: data, steps: 1, config: TINY, trainOptions: TINY_TRAIN });
    corrupt(only, c.version!);
    expect(await newestValidCheckpoint(only)).toBeUndefined();
    const none = await chooseResumeCheckpoint(only);
    expect(none.version).toBeUndefined();
    expect(none.warning).toMatch(/training from scratch/);
    expect(await chooseResumeCheckpoint(newDir())).toEqual({});
  });
});

describe('resuming on another dataset', () => {
  it('gives only the size error (no warning first) when the dataset does not fit', async () => {
    const dir = newDir();
    await runTraining({
      modelsDir: dir,
      dataset: syntheticDataset(24),
      steps: 1,
      config: TINY,
      trainOptions: TINY_TRAIN,
    });
    const d = syntheticDataset(24);
    const rgb = { ...d, meta: { ...d.meta, name: 'rgb', channels: 3 as const, fingerprint: 'other' } };
    const warnings: string[] = [];
    await expect(
      runTraining({ modelsDir: dir, dataset: rgb, steps: 1, resume: true, onWarning: (m) => warnings.push(m) }),
    ).rejects.toThrow(/dataset rgb has 32x32x3 images but the model is 32x32x1/);
    expect(warnings).toEqual([]);
    const other = { ...d, meta: { ...d.meta, name: 'other', fingerprint: 'other' } };
    await runTraining({ modelsDir: dir, dataset: other, steps: 1, resume: true, onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([
      expect.stringMatching(/^dataset other differs from the one checkpoint \S+ was trained on/),
    ]);
  });
});

describe('CLI quality gate and flags', () => {
  it('compares KID, then FID, then sneaker share with a relative margin', () => {
    expect(compareQuality({ kid: 65 }, { kid: 0.6, fid: 1 }, 0.1)).toMatchObject({
      worse: true,
      reason: expect.stringMatching(/KID 65.*active 0.6/),
    });
    expect(compareQuality({ kid: 0.65 }, { kid: 0.6 }, 0.1).worse).toBe(false);
    expect(compareQuality({ fid: 3 }, { kid: 0.6, fid: 1.5 }, 0.1).worse).toBe(true);
    expect(compareQuality({ sneakerShare: 0.5 }, { sneakerShare: 0.9 }, 0.1).worse).toBe(true);
    expect(compareQuality({ sneakerShare: 0.85 }, { sneakerShare: 0.9 }, 0.1).worse).toBe(false);
    expect(compareQuality({}, { kid: 0.6 }, 0.1)).toEqual({
      worse: false,
      reason: 'not evaluated: no quality figures to compare',
    });
    expect(compareQuality({ kid: 0.6 }, { sneakerShare: 0.9 }, 0.1).reason).toBe('no comparable quality figure');
    // A colour model's perceptual KID is not compared with a grey model's classifier KID (or another net's).
    const colour = { kid: 0.5, fid: 80, metric: 'mobilenet_v2@128' };
    expect(compareQuality(colour, { kid: 0.01, fid: 2 }, 0.1)).toEqual({
      worse: false,
      reason: 'quality measured with mobilenet_v2@128, active with fmnist-classifier: not comparable',
    });
    expect(compareQuality(colour, { ...colour, metric: 'inception_v3@299' }, 0.1).reason).toMatch(/not comparable/);
    // An unevaluated colour checkpoint (--no-eval) is not "measured with" the classifier.
    expect(compareQuality({}, colour, 0.1).reason).toBe('not evaluated: no quality figures to compare');
    expect(compareQuality(colour, {}, 0.1).reason).toBe('the active checkpoint has no quality figures to compare with');
    expect(compareQuality(colour, { kid: 0.1, fid: 60, metric: 'mobilenet_v2@128' }, 0.1).worse).toBe(true);
  });

  it('reads negative numbers as values and range-checks them', () => {
    expect(joinNegativeValues(['--seed', '-3', '--resume', '--lr', '-.5'], ['seed', 'lr'])).toEqual([
      '--seed=-3',
      '--resume',
      '--lr=-.5',
    ]);
    expect(() => parseTrainArgs(['--seed', '-3'])).toThrow('--seed must be >= 0, got -3');
    expect(() => parseTrainArgs(['--lr', '-1'])).toThrow('--lr must be >= 0, got -1');
    expect(parseTrainArgs(['--force-activate']).forceActivate).toBe(true);
    expect(parseTrainArgs([]).forceActivate).toBe(false);
  });
});
