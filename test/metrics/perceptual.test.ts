/**
 * The colour quality metric (pretrained MobileNetV2 features from nsfwjs, FID
 * and KID) on synthetic colour images made here: real vs real must be near 0,
 * and blurred, collapsed and noise sets must come out worse, in that order.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../../src/tf/index.ts';
import { comparePerceptual, gaussianBlurU8, perceptualMetricId } from '../../src/gan/perceptual-metric.ts';
import { evaluateGenerator } from '../../src/gan/metrics.ts';
import { buildGenerator } from '../../src/gan/model.ts';
import { Rng } from '../../src/gan/latent.ts';
import { loadPerceptualExtractor } from '../../src/gan/perceptual.ts';

beforeAll(async () => {
  await initTf('wasm');
});

/** `n` 64x64 RGB "shoes": a coloured sole and upper of random size and colour on white. */
function shoes(n: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const out = new Uint8Array(n * 64 * 64 * 3).fill(255);
  for (let i = 0; i < n; i++) {
    const col = [rng.int(256), rng.int(256), rng.int(256)];
    const x0 = 6 + rng.int(8);
    const w = 36 + rng.int(14);
    const y0 = 20 + rng.int(8);
    const h = 12 + rng.int(10);
    for (let y = y0; y < y0 + h + 5; y++) {
      for (let x = x0; x < x0 + w; x++) {
        const sole = y >= y0 + h;
        const inUpper = ((x - x0 - w / 2) / (w / 2)) ** 2 + ((y - y0 - h) / h) ** 2 <= 1;
        if (!sole && !inUpper) continue;
        const o = ((i * 64 + y) * 64 + x) * 3;
        for (let k = 0; k < 3; k++) out[o + k] = sole ? 40 : col[k];
      }
    }
  }
  return out;
}

describe('perceptual metric (MobileNetV2 features)', () => {
  it('orders real < blurred < one image repeated (FID), and leaks no tensors', async () => {
    const n = 120;
    const real = { images: shoes(n, 1), height: 64, width: 64, channels: 3 };
    await loadPerceptualExtractor('mobilenet_v2', 96); // its weights stay cached for the process
    const before = tf.memory().numTensors;
    const opts = { net: 'mobilenet_v2' as const, inputSize: 96 };
    const same = await comparePerceptual({ pixels: shoes(n, 2), n }, real, opts);
    const blurred = await comparePerceptual({ pixels: gaussianBlurU8(shoes(n, 2), n, 64, 64, 3, 1), n }, real, opts);
    const one = shoes(1, 3);
    const collapsed = new Uint8Array(n * one.length);
    for (let i = 0; i < n; i++) collapsed.set(one, i * one.length);
    const mode = await comparePerceptual({ pixels: collapsed, n }, real, opts);
    expect(same.metric).toBe('mobilenet_v2@96');
    expect(Math.abs(same.kid)).toBeLessThan(4 * same.kidSe + 1e-3);
    expect(blurred.fid).toBeGreaterThan(2 * same.fid);
    expect(blurred.kid).toBeGreaterThan(same.kid + 3 * blurred.kidSe);
    expect(mode.fid).toBeGreaterThan(blurred.fid);
    // KID ranks collapse about like blur on these simple shapes; FID (which sees the missing spread) above it.
    expect(mode.kid).toBeGreaterThan(same.kid + 3 * mode.kidSe);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('evaluateGenerator on colour models', () => {
  it('scores KID/FID on the perceptual metric (grey models keep the classifier), no leaks', async () => {
    const cfg = { imageSize: 64 as const, channels: 3 as const, nz: 100, ngf: 8, ndf: 8 };
    const G = buildGenerator(cfg, 5);
    const heldout = {
      meta: { height: 64, width: 64, channels: 3, background: 'white' as const },
      heldout: shoes(60, 7),
    };
    await evaluateGenerator(G, cfg, heldout, { n: 20 }); // loads and caches both feature networks
    const before = tf.memory().numTensors;
    const colour = await evaluateGenerator(G, cfg, heldout, { n: 40 });
    const classifier = await evaluateGenerator(G, cfg, heldout, { n: 40, perceptual: false });
    expect(tf.memory().numTensors).toBe(before);
    G.dispose();
    expect(colour.metric).toBe(perceptualMetricId());
    expect(colour.kidSe).toBeGreaterThan(0);
    expect(colour.nReal).toBe(60);
    // An untrained generator is far from the shoes on either metric; the figures differ because the features do.
    expect(colour.fid).toBeGreaterThan(50);
    expect(classifier.metric).toBe('fmnist-classifier');
    expect(classifier.kidSe).toBeUndefined();
    expect(colour.fid).not.toBeCloseTo(classifier.fid, 1);
    expect(colour.sneakerShare).toBe(classifier.sneakerShare);
  });
});
