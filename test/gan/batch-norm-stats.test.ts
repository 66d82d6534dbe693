/**
 * Batch-norm statistics recomputed for a generator's own weights: the
 * population moments its layers see, deterministic, leak-free, and what a
 * weight-averaged checkpoint now stores and serves.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../../src/tf/index.ts';
import { buildGenerator, type GanConfig } from '../../src/gan/model.ts';
import { BATCH_NORM_STATS_DEFAULTS, recomputeBatchNormStats } from '../../src/gan/batch-norm-stats.ts';
import { latentsForSeed } from '../../src/gan/latent.ts';
import { runTraining } from '../../src/gan/training-loop.ts';
import { loadGeneratorCheckpoint } from '../../src/gan/checkpoint-load.ts';
import { checkpointsDir, sealMeta, sha256, type CheckpointMeta } from '../../src/gan/checkpoint.ts';
import { resolveVersion } from '../../src/gan/manifest.ts';
import { serializeModel } from '../../src/gan/layers-files.ts';
import { parseAugmentPolicy } from '../../src/gan/augment.ts';
import { syntheticDataset, tempModelsDirs, TINY, TINY_TRAIN } from './helpers.ts';

const newDir = tempModelsDirs();
const RGB: GanConfig = { imageSize: 32, channels: 3, nz: 16, ngf: 8, ndf: 8 };

beforeAll(async () => {
  await initTf('wasm');
});

/** Every batch-norm layer's [moving mean, moving variance] as plain arrays. */
function movingStats(model: tf.LayersModel): Float32Array[] {
  return model.weights
    .filter((w) => /moving_(mean|variance)$/.test(w.originalName))
    .map((w) => w.read().dataSync() as Float32Array);
}

/** Sets every moving mean to 3 and variance to 50: statistics that belong to some other network. */
function spoilStats(model: tf.LayersModel): void {
  for (const w of model.weights) {
    if (/moving_mean$/.test(w.originalName)) tf.tidy(() => void w.write(tf.fill(w.shape as number[], 3)));
    if (/moving_variance$/.test(w.originalName)) tf.tidy(() => void w.write(tf.fill(w.shape as number[], 50)));
  }
}

/** Largest |inference-mode output - training-mode output| over one big batch of latents. */
function inferenceVsBatchStats(model: tf.LayersModel, n: number, nz: number): number {
  return tf.tidy(() => {
    const z = tf.tensor2d(latentsForSeed(99, n, nz), [n, nz]);
    const inference = model.predict(z) as tf.Tensor;
    const batch = model.apply(z, { training: true }) as tf.Tensor;
    return tf.max(tf.abs(tf.sub(inference, batch))).dataSync()[0];
  });
}

describe('recomputeBatchNormStats', () => {
  it('stores the population mean and variance of the first layer exactly as a direct computation gives them', () => {
    const g = buildGenerator(RGB, 5);
    spoilStats(g);
    const samples = 512;
    expect(recomputeBatchNormStats(g, { samples, batchSize: 128, seed: 7 })).toBe(3);
    // g_bn0 follows only the reshape and the first transposed convolution: no batch statistics upstream.
    const [reshape, tconv0] = g.layers;
    const { mean, variance } = tf.tidy(() => {
      const z = tf.tensor2d(latentsForSeed(7, samples, RGB.nz), [samples, RGB.nz]);
      const x = tconv0.apply(reshape.apply(z)) as tf.Tensor4D;
      const m = tf.moments(x, [0, 1, 2]);
      return { mean: m.mean.dataSync(), variance: m.variance.dataSync() };
    });
    const [mm, mv] = movingStats(g);
    // Means of equal-sized batches average to the exact mean; unbiased batch variances to about the population's.
    for (let c = 0; c < mean.length; c++) {
      expect(mm[c]).toBeCloseTo(mean[c], 4);
      expect(Math.abs(mv[c] - variance[c]) / variance[c]).toBeLessThan(0.02);
    }
    g.dispose();
  });

  it('makes inference mode draw what batch statistics would, where spoilt statistics do not', () => {
    const g = buildGenerator(RGB, 6);
    spoilStats(g);
    const before = inferenceVsBatchStats(g, 256, RGB.nz);
    recomputeBatchNormStats(g, { samples: 1024 });
    const after = inferenceVsBatchStats(g, 256, RGB.nz);
    expect(before).toBeGreaterThan(0.5);
    expect(after).toBeLessThan(0.05);
    g.dispose();
  });

  it('is deterministic, leaves gamma and beta alone and leaks no tensor', () => {
    const a = buildGenerator(RGB, 8);
    const b = buildGenerator(RGB, 8);
    spoilStats(b);
    const trainable = (m: tf.LayersModel) => m.trainableWeights.map((w) => Buffer.from(w.read().dataSync().buffer));
    const before = trainable(b);
    const tensors = tf.memory().numTensors;
    recomputeBatchNormStats(a, { samples: 256 });
    recomputeBatchNormStats(b, { samples: 256 });
    expect(tf.memory().numTensors).toBe(tensors);
    const sa = movingStats(a);
    const sb = movingStats(b);
    sa.forEach((s, i) => expect(Buffer.from(sb[i].buffer).equals(Buffer.from(s.buffer))).toBe(true));
    trainable(b).forEach((w, i) => expect(w.equals(before[i])).toBe(true));
    expect(BATCH_NORM_STATS_DEFAULTS.samples).toBeGreaterThanOrEqual(1024);
    a.dispose();
    b.dispose();
  });
});

describe('checkpoints of a weight average', () => {
  const data = syntheticDataset(24);
  const trainOptions = { ...TINY_TRAIN, augment: parseAugmentPolicy('color'), ema: true };

  it('store the average with its own statistics, marked, and older ones can be fixed in memory on request', async () => {
    const dir = newDir();
    await runTraining({ modelsDir: dir, dataset: data, steps: 6, config: TINY, trainOptions, seed: 4 });
    const version = await resolveVersion(dir);
    const metaFile = path.join(checkpointsDir(dir), version, 'checkpoint.json');
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as CheckpointMeta;
    expect(meta.servedBatchNorm).toBe('recomputed');

    const served = await loadGeneratorCheckpoint(dir);
    const raw = await loadGeneratorCheckpoint(dir, undefined, { weights: 'training' });
    const own = movingStats(served.model);
    const copied = movingStats(raw.model);
    expect(own.some((s, i) => !Buffer.from(s.buffer).equals(Buffer.from(copied[i].buffer)))).toBe(true);
    // Recomputing again for the same weights gives the stored bytes: the mark means what it says.
    recomputeBatchNormStats(served.model);
    movingStats(served.model).forEach((s, i) =>
      expect(Buffer.from(s.buffer).equals(Buffer.from(own[i].buffer))).toBe(true),
    );
    served.model.dispose();

    // An older checkpoint: the raw generator's statistics copied into generator/, no mark.
    const g = await loadGeneratorCheckpoint(dir);
    g.model.weights
      .filter((w) => /moving_(mean|variance)$/.test(w.originalName))
      .forEach((w, i) => tf.tidy(() => void w.write(tf.tensor(copied[i], w.shape as number[]))));
    const { modelJson, weights } = await serializeModel(g.model);
    g.model.dispose();
    const { servedBatchNorm: _mark, sha256: _seal, ...old } = meta;
    fs.writeFileSync(path.join(checkpointsDir(dir), version, 'generator', 'model.json'), modelJson);
    fs.writeFileSync(path.join(checkpointsDir(dir), version, 'generator', 'weights.bin'), weights);
    old.files = { ...old.files, 'generator/model.json': sha256(modelJson), 'generator/weights.bin': sha256(weights) };
    fs.writeFileSync(metaFile, sealMeta(old as CheckpointMeta));

    const asStored = await loadGeneratorCheckpoint(dir);
    const fixed = await loadGeneratorCheckpoint(dir, undefined, { recomputeCopiedBatchNorm: true });
    movingStats(asStored.model).forEach((s, i) =>
      expect(Buffer.from(s.buffer).equals(Buffer.from(copied[i].buffer))).toBe(true),
    );
    movingStats(fixed.model).forEach((s, i) =>
      expect(Buffer.from(s.buffer).equals(Buffer.from(own[i].buffer))).toBe(true),
    );
    for (const m of [asStored, fixed, raw]) m.model.dispose();
  });
});
