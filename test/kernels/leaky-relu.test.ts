/**
 * Leaky ReLU and its gradient on WASM (src/tf/kernels/leaky-relu.ts) against tfjs's own kernel and
 * gradient formula, bit for bit, including sizes that are not a multiple of four, -0 and the
 * alphas that must still go to the stock path.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../../src/tf/index.ts';
import { Rng } from '../../src/gan/latent.ts';
import { withKernels } from './helpers.ts';

const rng = new Rng(9);

beforeAll(async () => {
  await initTf('wasm');
  expect(tf.getBackend()).toBe('wasm');
});

/** Values and gradient of sum(leakyRelu(x) * w), as plain arrays. */
function run(x: tf.Tensor, w: tf.Tensor, alpha: number): { y: number[]; dx: number[] } {
  return tf.tidy(() => {
    const y = tf.leakyRelu(x, alpha);
    const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(t, alpha), w)))(x);
    return { y: Array.from(y.dataSync()), dx: Array.from(dx.dataSync()) };
  });
}

describe('leaky ReLU on wasm', () => {
  it.each([
    [[32, 8, 8, 16], 0.2],
    [[3, 5, 7], 0.2], // 105 values: a tail of 1
    [[2], 0.2],
    [[4, 9], 0],
    [[4, 9], 1],
    [[4, 9], 1.5], // outside [0, 1]: stock path
  ] as const)('%j, alpha %d: values and gradient equal the stock ones bit for bit', (shape, alpha) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = rng.normalArray(size, 0, 1);
    values[0] = -0;
    if (size > 2) values[1] = 0;
    const x = tf.tensor(values, shape as unknown as number[]);
    const w = tf.tensor(rng.normalArray(size, 0, 1), shape as unknown as number[]);
    const ref = withKernels(false, () => run(x, w, alpha));
    const before = tf.memory().numTensors;
    const got = withKernels(true, () => run(x, w, alpha));
    expect(tf.memory().numTensors).toBe(before);
    // toEqual tells -0 from +0 (Object.is).
    expect(got.y).toEqual(ref.y);
    expect(got.dx).toEqual(ref.dx);
    tf.dispose([x, w]);
  });

  it('runs as one kernel forward and one backward (no Greater/Select)', async () => {
    const x = tf.tensor(rng.normalArray(64, 0, 1), [4, 16]);
    const info = await withKernels(true, () =>
      tf.profile(() => {
        tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.leakyRelu(t, 0.2)))(x));
      }),
    );
    const names = info.kernelNames;
    expect(names).toContain('ShoebotLeakyReluGrad');
    expect(names).not.toContain('Select');
    expect(names).not.toContain('Greater');
    x.dispose();
  });
});
