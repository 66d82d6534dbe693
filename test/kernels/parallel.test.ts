/**
 * Data-parallel training (src/gan/parallel): a worker-thread replica on its
 * own WASM backend, gradients all-reduced into both optimisers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../../src/tf/index.ts';
import { buildDiscriminator, buildGenerator, type GanConfig } from '../../src/gan/model.ts';
import { Adam } from '../../src/gan/adam.ts';
import { DEFAULT_TRAIN_OPTIONS } from '../../src/gan/recipe.ts';
import { GanTrainState, trainStep, type StepResult } from '../../src/gan/train-step.ts';
import { latentsForSeed, Rng } from '../../src/gan/latent.ts';
import { createDataParallelStepper } from '../../src/gan/parallel/stepper.ts';
import { DataParallel } from '../../src/gan/parallel/index.ts';
import { runTraining } from '../../src/gan/training-loop.ts';
import { syntheticDataset, tmpModelsDir, TINY } from '../gan/helpers.ts';

const CFG: GanConfig = { imageSize: 32, channels: 1, nz: 8, ngf: 4, ndf: 4 };
const HALF = 3;

function newState(): GanTrainState {
  return new GanTrainState(buildGenerator(CFG, 21), buildDiscriminator(CFG, 22), {
    ...DEFAULT_TRAIN_OPTIONS,
    batchSize: 2 * HALF,
  });
}
function disposeState(s: GanTrainState): void {
  s.dispose();
  s.generator.dispose();
  s.discriminator.dispose();
}
function batch(step: number, n: number): { real: tf.Tensor4D; z: tf.Tensor2D } {
  const rng = new Rng(500 + step);
  const px = Float32Array.from(rng.normalArray(n * 32 * 32, 0, 0.5), (v) => Math.tanh(v));
  return { real: tf.tensor4d(px, [n, 32, 32, 1]), z: tf.tensor2d(latentsForSeed(900 + step, n, CFG.nz), [n, CFG.nz]) };
}
/** [a, a]: the same half twice. */
function doubled(t: tf.Tensor): tf.Tensor {
  return tf.concat([t, t], 0);
}
function trainable(s: GanTrainState): Float32Array[] {
  return [...s.generator.trainableWeights, ...s.discriminator.trainableWeights].map(
    (w) => w.read().dataSync() as Float32Array,
  );
}

let state: GanTrainState;
let par: DataParallel;

beforeAll(async () => {
  await initTf('wasm');
  state = newState();
  par = await DataParallel.start(state);
});

afterAll(async () => {
  await par?.close();
  if (state) disposeState(state);
});

describe('DataParallel', () => {
  it('with the same half-batch on both replicas, equals a single-thread step on that half', async () => {
    const single = newState();
    const expected: StepResult[] = [];
    const got: StepResult[] = [];
    for (let i = 0; i < 3; i++) {
      const { real, z } = batch(i, HALF);
      expected.push(trainStep(single, real, z));
      const real2 = doubled(real) as tf.Tensor4D;
      const z2 = doubled(z) as tf.Tensor2D;
      got.push(await par.step(state, real2, z2));
      tf.dispose([real, z, real2, z2]);
    }
    for (let i = 0; i < 3; i++) {
      // Scalars travel as float32 through the shared buffer.
      expect(got[i].lossD).toBeCloseTo(expected[i].lossD, 5);
      expect(got[i].lossG).toBeCloseTo(expected[i].lossG, 5);
      expect(got[i].frozen).toBe(expected[i].frozen);
    }
    const a = trainable(state);
    const b = trainable(single);
    for (let k = 0; k < a.length; k++) expect(Array.from(a[k])).toEqual(Array.from(b[k]));
    expect(state.step).toBe(3);
    expect(state.running.count).toBe(3);
    disposeState(single);
  });

  it('keeps both replicas identical on different halves, without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const { real, z } = batch(10 + i, 2 * HALF + 1); // odd batch: 4 here, 3 in the worker
      const r = await par.step(state, real, z);
      expect(Number.isFinite(r.lossD) && Number.isFinite(r.lossG)).toBe(true);
      tf.dispose([real, z]);
    }
    expect(tf.memory().numTensors).toBe(before);
    const w = await par.workerSnapshot();
    const mine = trainable(state);
    const theirs = [...state.generator.weights, ...state.discriminator.weights]
      .map((v, i) => ({ v, i }))
      .filter(({ v }) => v.trainable)
      .map(({ i }) => [...w.generator, ...w.discriminator][i]);
    expect(theirs.length).toBe(mine.length);
    for (let k = 0; k < mine.length; k++) expect(Array.from(theirs[k])).toEqual(Array.from(mine[k]));
    expect(w.running).toEqual(state.running);
    expect(w.optD.t).toBe(state.optD.t);
  });

  it('follows the main replica options and counters (freezing decided identically)', async () => {
    state.opts.freezing = true;
    state.opts.freezeRatio = 10; // freezes whenever there is a running mean
    state.resetRunningMeans(); // on the main replica only: the worker copies it
    const frozen: boolean[] = [];
    for (let i = 0; i < 2; i++) {
      const { real, z } = batch(20 + i, 2 * HALF);
      frozen.push((await par.step(state, real, z)).frozen);
      tf.dispose([real, z]);
    }
    expect(frozen).toEqual([false, true]);
    const w = await par.workerSnapshot();
    expect(w.freezeCount).toBe(state.freezeCount);
    expect(w.optD.t).toBe(state.optD.t);
    const mine = trainable(state);
    const theirs = [...state.generator.weights, ...state.discriminator.weights]
      .map((v, i) => ({ v, i }))
      .filter(({ v }) => v.trainable)
      .map(({ i }) => [...w.generator, ...w.discriminator][i]);
    for (let k = 0; k < mine.length; k++) expect(Array.from(theirs[k])).toEqual(Array.from(mine[k]));
    state.opts.freezing = false;
  });

  it('averages the BN statistics into both replicas', async () => {
    await par.averageBatchNormStats(state);
    const w = await par.workerSnapshot();
    const mine = state.generator.getWeights().map((t) => t.dataSync() as Float32Array);
    for (let k = 0; k < mine.length; k++) expect(Array.from(w.generator[k])).toEqual(Array.from(mine[k]));
  });

  it('rejects a batch that cannot be split, then closes cleanly', async () => {
    const { real, z } = batch(99, 1);
    await expect(par.step(state, real, z)).rejects.toThrow(/at least 2/);
    tf.dispose([real, z]);
    await par.close();
    // The optimiser hooks are gone: apply is Adam's own again.
    expect(state.optD.apply).toBe(Adam.prototype.apply);
    expect(state.optG.apply).toBe(Adam.prototype.apply);
    await expect(par.step(state, real, z)).rejects.toThrow(/closed/);
  });
});

describe('createDataParallelStepper', () => {
  it('drives runTraining as its stepFn and leaves nothing behind', async () => {
    const dp = createDataParallelStepper();
    const before = tf.memory().numTensors;
    try {
      const res = await runTraining({
        modelsDir: tmpModelsDir(),
        dataset: syntheticDataset(16),
        steps: 3,
        config: TINY,
        trainOptions: { batchSize: 4 },
        seed: 3,
        stepFn: dp.stepFn,
      });
      expect(res.steps).toBe(3);
      expect(Number.isFinite(res.lossD) && Number.isFinite(res.lossG)).toBe(true);
    } finally {
      await dp.close();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
