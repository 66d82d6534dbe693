import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, switchBackend, tf } from '../../src/tf/index.ts';
import { buildDiscriminator, buildGenerator } from '../../src/gan/model.ts';
import { DEFAULT_TRAIN_OPTIONS } from '../../src/gan/recipe.ts';
import { GanTrainState, trainStep, type StepResult } from '../../src/gan/train-step.ts';
import { latentsForSeed } from '../../src/gan/latent.ts';
import { syntheticDataset, TINY } from './helpers.ts';

beforeAll(async () => {
  await initTf('wasm');
});

/** Runs `steps` training steps on the current backend; returns per-step figures and final weights. */
function run(steps: number): { results: StepResult[]; weights: Float32Array[] } {
  const data = syntheticDataset(8);
  const B = 4;
  const st = new GanTrainState(buildGenerator(TINY, 11), buildDiscriminator(TINY, 12), {
    ...DEFAULT_TRAIN_OPTIONS,
    batchSize: B,
  });
  const results: StepResult[] = [];
  for (let i = 0; i < steps; i++) {
    const px = new Float32Array(B * 1024);
    const off = (i % 2) * B * 1024;
    for (let j = 0; j < px.length; j++) px[j] = data.train[off + j] / 127.5 - 1;
    const real = tf.tensor4d(px, [B, 32, 32, 1]);
    const z = tf.tensor2d(latentsForSeed(100 + i, B, TINY.nz), [B, TINY.nz]);
    results.push(trainStep(st, real, z));
    tf.dispose([real, z]);
  }
  const weights = [...st.generator.getWeights(), ...st.discriminator.getWeights()].map(
    (t) => t.dataSync() as Float32Array,
  );
  st.dispose();
  st.generator.dispose();
  st.discriminator.dispose();
  return { results, weights };
}

describe('WASM training agrees with the CPU backend (tfjs#4326 guard)', () => {
  it('gives the same losses and weights after a few steps', async () => {
    await switchBackend('wasm');
    const wasm = run(4);
    await switchBackend('cpu');
    const cpu = run(4);
    await switchBackend('wasm');
    for (let i = 0; i < 4; i++) {
      expect(wasm.results[i].lossD).toBeCloseTo(cpu.results[i].lossD, 4);
      expect(wasm.results[i].lossG).toBeCloseTo(cpu.results[i].lossG, 4);
      expect(wasm.results[i].dReal).toBeCloseTo(cpu.results[i].dReal, 4);
      expect(wasm.results[i].frozen).toBe(cpu.results[i].frozen);
    }
    // Weights moved (the check is not vacuous) and agree across backends.
    let maxDiff = 0;
    let maxMove = 0;
    const init = (() => {
      const g = buildGenerator(TINY, 11);
      const w = g.getWeights().map((t) => t.dataSync() as Float32Array);
      g.dispose();
      return w;
    })();
    for (let k = 0; k < wasm.weights.length; k++) {
      for (let j = 0; j < wasm.weights[k].length; j++) {
        maxDiff = Math.max(maxDiff, Math.abs(wasm.weights[k][j] - cpu.weights[k][j]));
        if (k < init.length) maxMove = Math.max(maxMove, Math.abs(wasm.weights[k][j] - init[k][j]));
      }
    }
    expect(maxMove).toBeGreaterThan(1e-4);
    // Adam normalises steps to ~lr (2e-4) each: agreement well below one step size.
    expect(maxDiff).toBeLessThan(2e-5);
  });
});
