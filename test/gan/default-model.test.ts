/** The default generator shipped in models/: a fresh install can answer /shoe at once. */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../../src/tf/index.ts';
import { loadGeneratorCheckpoint, readCheckpointMeta } from '../../src/gan/checkpoint.ts';
import { generate } from '../../src/gan/generate.ts';
import { latentsForSeed } from '../../src/gan/latent.ts';
import { DEFAULT_GAN_CONFIG } from '../../src/gan/model.ts';

const MODELS = path.resolve(__dirname, '../../models');

beforeAll(async () => {
  await initTf('wasm');
});

describe('shipped default model', () => {
  it('is active, verifies, and generates varied designs in [-1, 1]', async () => {
    const g = await loadGeneratorCheckpoint(MODELS);
    expect(g.config).toEqual(DEFAULT_GAN_CONFIG);
    expect(g.step).toBeGreaterThan(500);
    const before = tf.memory().numTensors;
    const x = await generate(g.model, latentsForSeed(42, 4, g.config.nz), 4);
    expect(tf.memory().numTensors).toBe(before);
    const per = 32 * 32;
    // Dark background (Fashion-MNIST), a bright shoe: corners near -1, centre brighter.
    for (let i = 0; i < 4; i++) {
      const img = x.subarray(i * per, (i + 1) * per);
      expect(img[0]).toBeLessThan(-0.8);
      expect(Math.max(...img)).toBeGreaterThan(0.3);
    }
    // Different latents give different designs.
    let diff = 0;
    for (let j = 0; j < per; j++) diff += Math.abs(x[j] - x[per + j]);
    expect(diff / per).toBeGreaterThan(0.02);
    g.model.dispose();
  });

  it('carries its quality figures and its full resumable state', async () => {
    const meta = await readCheckpointMeta(MODELS);
    expect(meta.metrics.sneakerShare).toBeGreaterThan(0.9);
    expect(meta.trainer.datasetName).toBe('fashion-mnist-sneakers');
    expect(Object.keys(meta.files).sort()).toEqual([
      'discriminator/model.json',
      'discriminator/weights.bin',
      'generator/model.json',
      'generator/weights.bin',
      'optimizer.bin',
    ]);
  });
});
