/**
 * Shoebot's recipe beyond the seed (DiffAugment, the generator's weight
 * average, flips) and the sample-space FID/KID the colour metric uses.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../../src/tf/index.ts';
import { diffAugment, parseAugmentPolicy } from '../../src/gan/augment.ts';
import { fidSampleSpace, kidWithStandardError, fidFromFeatures } from '../../src/gan/distances.ts';
import { symmetricEigenvalues, symmetricEigen } from '../../src/gan/linalg.ts';
import { emaBeta } from '../../src/gan/ema.ts';
import { runTraining } from '../../src/gan/training-loop.ts';
import { loadGeneratorCheckpoint, loadTrainingCheckpoint } from '../../src/gan/checkpoint-load.ts';
import { parseTrainArgs } from '../../src/bin/train-args.ts';
import { Rng } from '../../src/gan/latent.ts';
import { syntheticDataset, tempModelsDirs, TINY, TINY_TRAIN } from './helpers.ts';

const newDir = tempModelsDirs();

beforeAll(async () => {
  await initTf('wasm');
});

const randomRows = (n: number, d: number, seed: number, scale = 1, shift = 0): Float64Array => {
  const r = new Rng(seed);
  return Float64Array.from({ length: n * d }, () => r.normal() * scale + shift);
};

describe('sample-space FID and KID', () => {
  it('eigenvalues match the Jacobi solver, also for a rank-deficient Gram matrix', () => {
    const n = 40;
    const C = randomRows(n, 7, 1);
    const G = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) for (let k = 0; k < 7; k++) G[i * n + j] += C[i * 7 + k] * C[j * 7 + k];
    const a = [...symmetricEigen(G, n).values].sort((x, y) => x - y);
    const b = [...symmetricEigenvalues(G, n)].sort((x, y) => x - y);
    for (let i = 0; i < n; i++) expect(b[i]).toBeCloseTo(a[i], 8);
  });

  it('equals the covariance-space FID, whether n < d or n > d', () => {
    for (const [nx, ny, d] of [
      [60, 50, 12],
      [20, 30, 50],
    ]) {
      const X = randomRows(nx, d, 2);
      const Y = randomRows(ny, d, 3, 1.3, 0.2);
      const ref = fidFromFeatures(X, nx, Y, ny, d);
      expect(Math.abs(fidSampleSpace(X, nx, Y, ny, d) - ref)).toBeLessThan(1e-4 * ref);
    }
  });

  it('KID is ~0 within its standard error for one distribution and clearly positive for a shifted one', () => {
    const d = 16;
    const same = kidWithStandardError(randomRows(400, d, 4), 400, randomRows(400, d, 5), 400, d);
    expect(Math.abs(same.kid)).toBeLessThan(4 * same.se + 1e-9);
    const shifted = kidWithStandardError(randomRows(400, d, 6, 1, 0.5), 400, randomRows(400, d, 7), 400, d);
    expect(shifted.kid).toBeGreaterThan(10 * shifted.se);
  });
});

describe('DiffAugment', () => {
  const x = (): tf.Tensor4D => tf.randomUniform([4, 16, 16, 3], -1, 1, 'float32', 9) as tf.Tensor4D;

  it('is deterministic per seed, differs across seeds, keeps the shape and passes gradients, without leaks', () => {
    const input = x();
    const before = tf.memory().numTensors;
    const policy = parseAugmentPolicy('color,translation,cutout');
    const [a, b, c, g] = tf.tidy(() => {
      const a = diffAugment(input, policy, 1);
      const b = diffAugment(input, policy, 1);
      const c = diffAugment(input, policy, 2);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.square(diffAugment(t as tf.Tensor4D, policy, 3))))(input);
      return [a, b, c, g];
    });
    expect(a.shape).toEqual([4, 16, 16, 3]);
    const maxDiff = (p: tf.Tensor, q: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(p, q))).dataSync()[0]);
    expect(maxDiff(a, b)).toBe(0);
    expect(maxDiff(a, c)).toBeGreaterThan(0.01);
    const gd = g.dataSync();
    expect(gd.every(Number.isFinite)).toBe(true);
    expect(gd.some((v) => v !== 0)).toBe(true);
    // Cutout alone zeroes a square of every image: those pixels get no gradient.
    const gc = tf.tidy(() =>
      tf
        .grad((t: tf.Tensor) => tf.sum(diffAugment(t as tf.Tensor4D, ['cutout'], 3)))(input)
        .dataSync(),
    );
    expect(gc.filter((v) => v === 0).length).toBeGreaterThanOrEqual(4 * 8 * 8 * 3 * 0.25);
    tf.dispose([a, b, c, g]);
    expect(tf.memory().numTensors).toBe(before);
    expect(diffAugment(input, [], 1)).toBe(input);
    input.dispose();
  });

  it('rejects unknown operations with their name', () => {
    expect(() => parseAugmentPolicy('color,zoom')).toThrow(/unknown augmentation "zoom"/);
    expect(parseAugmentPolicy('none')).toEqual([]);
  });
});

describe('the shoebot recipe in training', () => {
  const data = syntheticDataset(24);

  it('weight-average decay ramps up and stays below the half-life', () => {
    expect(emaBeta(32, 32, 10_000, 0.05)).toBeLessThan(0.01); // first step: hardly any memory
    expect(emaBeta(32, 10_000_000, 10_000, 0.05)).toBeCloseTo(0.5 ** (32 / 10_000), 12);
  });

  it('serves the average, keeps the raw generator for training and resumes exactly', async () => {
    const trainOptions = {
      ...TINY_TRAIN,
      augment: parseAugmentPolicy('color,translation,cutout'),
      ema: true,
      flip: true,
    };
    const straight = newDir();
    await runTraining({ modelsDir: straight, dataset: data, steps: 9, config: TINY, trainOptions, seed: 3 });
    const split = newDir();
    await runTraining({ modelsDir: split, dataset: data, steps: 4, config: TINY, trainOptions, seed: 3 });
    await runTraining({ modelsDir: split, dataset: data, steps: 5, resume: true });

    const a = await loadTrainingCheckpoint(straight);
    const b = await loadTrainingCheckpoint(split);
    expect(a.ema).toBeDefined();
    const flat = (ck: typeof a) =>
      [...ck.generator.getWeights(), ...ck.ema!.getWeights(), ...ck.discriminator.getWeights()].map(
        (t) => t.dataSync() as Float32Array,
      );
    const fa = flat(a);
    const fb = flat(b);
    for (let i = 0; i < fa.length; i++) expect(Buffer.from(fb[i].buffer).equals(Buffer.from(fa[i].buffer))).toBe(true);
    // The served generator is the average, not the raw weights.
    const served = await loadGeneratorCheckpoint(straight);
    const raw = await loadGeneratorCheckpoint(straight, undefined, { weights: 'training' });
    const diff = tf.tidy(
      () =>
        tf
          .max(tf.abs(tf.sub(served.model.trainableWeights[0].read(), raw.model.trainableWeights[0].read())))
          .dataSync()[0],
    );
    expect(diff).toBeGreaterThan(0);
    for (const ck of [a, b]) {
      ck.generator.dispose();
      ck.ema?.dispose();
      ck.discriminator.dispose();
    }
    served.model.dispose();
    raw.model.dispose();
  });

  it('DiffAugment changes the training trajectory; the seed recipe has none of it', async () => {
    const plain = await runTraining({
      modelsDir: newDir(),
      dataset: data,
      steps: 3,
      config: TINY,
      trainOptions: TINY_TRAIN,
      seed: 3,
    });
    const aug = await runTraining({
      modelsDir: newDir(),
      dataset: data,
      steps: 3,
      config: TINY,
      trainOptions: { ...TINY_TRAIN, augment: ['translation'] },
      seed: 3,
    });
    expect(aug.lossD).not.toBe(plain.lossD);
    expect(parseTrainArgs(['--recipe', 'seed']).trainOptions).toEqual({});
    expect(parseTrainArgs(['--recipe', 'shoebot']).trainOptions).toMatchObject({
      augment: ['color', 'translation', 'cutout'],
      ema: true,
    });
    expect(parseTrainArgs(['--recipe', 'shoebot', '--no-ema']).trainOptions.ema).toBe(false);
    expect(() => parseTrainArgs(['--recipe', 'fancy'])).toThrow(/--recipe must be seed or shoebot/);
  });
});
