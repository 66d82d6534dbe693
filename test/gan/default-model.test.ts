/** The default generator shipped in models/: a fresh install can answer /shoe at once. */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../../src/tf/index.ts';
import { loadGeneratorCheckpoint, readCheckpointMeta } from '../../src/gan/checkpoint-load.ts';
import { generate } from '../../src/gan/generate.ts';
import { latentsForSeed } from '../../src/gan/latent.ts';

const MODELS = path.resolve(__dirname, '../../models');

beforeAll(async () => {
  await initTf('wasm');
});

describe('shipped default model', () => {
  it('is active, verifies, and generates varied designs in [-1, 1]', async () => {
    const g = await loadGeneratorCheckpoint(MODELS);
    expect(g.config).toEqual({ imageSize: 64, channels: 3, nz: 100, ngf: 32, ndf: 32 });
    expect(g.step).toBeGreaterThan(1500);
    const before = tf.memory().numTensors;
    const x = await generate(g.model, latentsForSeed(42, 4, g.config.nz), 4);
    expect(tf.memory().numTensors).toBe(before);
    const per = 64 * 64 * 3;
    // Product photos: a white background (corners near +1) around a shoe; in colour across the four
    // (a grey or black design is a fine design, four of them in a row would be a grey model).
    const chromas: number[] = [];
    for (let i = 0; i < 4; i++) {
      const img = x.subarray(i * per, (i + 1) * per);
      expect(img[0]).toBeGreaterThan(0.6);
      expect(img[per - 1]).toBeGreaterThan(0.6);
      let dark = 0;
      let chroma = 0;
      for (let p = 0; p < per; p += 3) {
        if (img[p] + img[p + 1] + img[p + 2] < 0) dark++;
        chroma += Math.max(img[p], img[p + 1], img[p + 2]) - Math.min(img[p], img[p + 1], img[p + 2]);
      }
      expect(dark / (per / 3)).toBeGreaterThan(0.02); // a shoe, not a blank tile
      chromas.push(chroma / (per / 3));
    }
    expect(Math.max(...chromas)).toBeGreaterThan(0.1); // at least one clearly coloured design
    expect(chromas.reduce((a, b) => a + b) / 4).toBeGreaterThan(0.04); // colour, not grey
    // Different latents give different designs.
    let diff = 0;
    for (let j = 0; j < per; j++) diff += Math.abs(x[j] - x[per + j]);
    expect(diff / per).toBeGreaterThan(0.02);
    g.model.dispose();
  });

  it('carries its quality figures and its full resumable state', async () => {
    const meta = await readCheckpointMeta(MODELS);
    expect(meta.metrics.metric).toBe('mobilenet_v2@128');
    expect(meta.metrics.fid).toBeGreaterThan(0);
    expect(meta.trainer.datasetName).toBe('sneakers-64');
    expect(meta.trainer.trainOptions).toMatchObject({ augment: ['color', 'translation', 'cutout'], ema: true });
    // The served average draws with batch-norm statistics of its own weights, not the raw generator's.
    expect(meta.servedBatchNorm).toBe('recomputed');
    // generator/ = the weight average (served), generator-train/ = the raw weights resume continues.
    expect(Object.keys(meta.files).sort()).toEqual([
      'discriminator/model.json',
      'discriminator/weights.bin',
      'generator-train/model.json',
      'generator-train/weights.bin',
      'generator/model.json',
      'generator/weights.bin',
      'optimizer.bin',
    ]);
  });
});

describe("an operator's old 32x32 grey checkpoint (the default before the colour model)", () => {
  it('still verifies and generates Fashion-MNIST-like designs', async () => {
    const g = await loadGeneratorCheckpoint(path.resolve(__dirname, '../fixtures/grey-32'));
    expect(g.config).toEqual({ imageSize: 32, channels: 1, nz: 100, ngf: 32, ndf: 32 });
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
    g.model.dispose();
  });
});
