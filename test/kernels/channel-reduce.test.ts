/**
 * Sum and Mean over all axes but the last on WASM (src/tf/kernels/channel-reduce.ts, batch norm's
 * pattern) against the stock kernels, and the cases that still go to the stock kernels.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../../src/tf/index.ts';
import { reducesAllButLast } from '../../src/tf/kernels/channel-reduce.ts';
import { Rng } from '../../src/gan/latent.ts';
import { relErr, withKernels } from './helpers.ts';

const rng = new Rng(5);

beforeAll(async () => {
  await initTf('wasm');
  expect(tf.getBackend()).toBe('wasm');
});

describe('channel reductions on wasm', () => {
  it('recognises exactly the all-but-last axes', () => {
    expect(reducesAllButLast([0, 1, 2], [2, 3, 4, 5])).toBe(true);
    expect(reducesAllButLast([2, 0, 1], [2, 3, 4, 5])).toBe(true);
    expect(reducesAllButLast([-4, -3, -2], [2, 3, 4, 5])).toBe(true);
    expect(reducesAllButLast(0, [7, 3])).toBe(true);
    expect(reducesAllButLast([0, 1], [2, 3, 4, 5])).toBe(false);
    expect(reducesAllButLast([1, 2, 3], [2, 3, 4, 5])).toBe(false);
    expect(reducesAllButLast([0, 1, 2, 3], [2, 3, 4, 5])).toBe(false);
    expect(reducesAllButLast(undefined, [2, 3])).toBe(false);
  });

  it.each([
    [
      [32, 16, 16, 24],
      [0, 1, 2],
    ],
    [
      [3, 5, 7, 3],
      [0, 1, 2],
    ], // 3 channels: stock kernel
    [[9, 12], [0]],
    [[9, 10], [0]],
    [
      [2, 3, 4, 5],
      [1, 2],
    ], // not the pattern: stock kernel
    [[2, 3, 4, 5], [-1]],
  ] as const)('%j over %j matches the stock kernels (sum and mean, keepDims or not)', (shape, axes) => {
    const x = tf.tensor(
      rng.normalArray(
        shape.reduce((a, b) => a * b, 1),
        0.3,
        2,
      ),
      shape as unknown as number[],
    );
    for (const keepDims of [false, true]) {
      for (const op of [tf.sum, tf.mean]) {
        const ref = withKernels(false, () => op(x, axes as unknown as number[], keepDims));
        const before = tf.memory().numTensors;
        const got = withKernels(true, () => op(x, axes as unknown as number[], keepDims));
        expect(tf.memory().numTensors).toBe(before + 1);
        expect(got.shape).toEqual(ref.shape);
        // Same arithmetic as the stock kernels (float32, row order): bit for bit.
        expect(Array.from(got.dataSync())).toEqual(Array.from(ref.dataSync()));
        tf.dispose([ref, got]);
      }
    }
    x.dispose();
  });

  it('agrees with a float64 sum to float32 accumulation error', () => {
    const shape = [16, 8, 8, 8];
    const values = rng.normalArray(16 * 8 * 8 * 8, 1, 3);
    const exact = new Float64Array(8);
    values.forEach((v, i) => (exact[i % 8] += v));
    const x = tf.tensor4d(values, shape as [number, number, number, number]);
    const got = withKernels(true, () => tf.sum(x, [0, 1, 2]));
    expect(relErr(got.dataSync(), Float32Array.from(exact))).toBeLessThan(1e-6);
    tf.dispose([x, got]);
  });

  it('leaves integer sums to the stock kernel', () => {
    const x = tf.tensor([1, 2, 3, 4, 5, 6], [3, 2], 'int32');
    const s = withKernels(true, () => tf.sum(x, 0));
    expect(s.dtype).toBe('int32');
    expect(Array.from(s.dataSync())).toEqual([9, 12]);
    tf.dispose([x, s]);
  });
});
