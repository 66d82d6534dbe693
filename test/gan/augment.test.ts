/**
 * DiffAugment's translation as one hand-written op (src/gan/augment.ts): the
 * same bits as the former pad + slice + concat version, forward and gradient,
 * on WASM and the JS CPU backend, with zero fill, one op each way and no leaks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTf, switchBackend, tf } from '../../src/tf/index.ts';
import { diffAugment, parseAugmentPolicy, type AugmentOp } from '../../src/gan/augment.ts';
import { Rng } from '../../src/gan/latent.ts';

type Shape = [number, number, number, number];

beforeAll(async () => {
  await initTf('wasm');
});

afterAll(async () => {
  await switchBackend('wasm');
});

/** The random draws as augment.ts makes them: an integer in [lo, hi] inclusive. */
const intIn = (r: Rng, lo: number, hi: number): number =>
  lo + Math.min(hi - lo, Math.floor(r.uniform() * (hi - lo + 1)));

/**
 * The former translation, kept here as the reference: x [B, H, W, C] ->
 * [B, H, W, C], one window per image out of the zero-padded batch, then concat.
 * Draws from a fresh Rng(seed), as diffAugment(x, ['translation'], seed) does.
 */
function referenceTranslation(x: tf.Tensor4D, seed: number, ratio = 0.125): tf.Tensor4D {
  const rng = new Rng(seed);
  const [b, h, w, c] = x.shape;
  const sy = Math.round(h * ratio);
  const sx = Math.round(w * ratio);
  const padded = tf.pad(x, [
    [0, 0],
    [sy, sy],
    [sx, sx],
    [0, 0],
  ]);
  const parts: tf.Tensor4D[] = [];
  for (let i = 0; i < b; i++) {
    const dy = intIn(rng, -sy, sy);
    const dx = intIn(rng, -sx, sx);
    parts.push(tf.slice(padded, [i, sy - dy, sx - dx, 0], [1, h, w, c]));
  }
  return tf.concat(parts, 0);
}

/** `n` values in [-1, 1) from `seed`, about `zeros` of them -0 (signed zeros are where bit equality can break). */
function values(n: number, seed: number, zeros: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => (r.uniform() < zeros ? -0 : r.uniform() * 2 - 1));
}

/** Index of the first element whose bits differ (-0 vs +0 counts), or -1. */
function firstBitDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

/**
 * Forward and gradient of sum(w * f(x)) for an input and weights both
 * containing -0: [forward values, gradient wrt x], as plain arrays.
 */
function forwardAndGradient(
  f: (x: tf.Tensor4D) => tf.Tensor4D,
  shape: Shape,
  seed: number,
): [Float32Array, Float32Array] {
  const n = shape.reduce((p, q) => p * q);
  const [y, g] = tf.tidy(() => {
    const x = tf.tensor4d(values(n, seed, 0.05), shape);
    const w = tf.tensor4d(values(n, seed + 1, 0.2), shape);
    return [f(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor4D), w)))(x)];
  });
  const out: [Float32Array, Float32Array] = [y.dataSync() as Float32Array, g.dataSync() as Float32Array];
  tf.dispose([y, g]);
  return out;
}

const SHAPES: Shape[] = [
  [1, 8, 8, 3],
  [5, 8, 8, 3],
  [1, 64, 64, 3],
  [5, 64, 64, 3],
  [3, 13, 11, 1],
];
const SEEDS = [1, 2, 3, 2 ** 40 + 17];

describe.each(['wasm', 'cpu'] as const)('translation on %s', (backend) => {
  beforeAll(async () => {
    await switchBackend(backend);
  });

  it('equals the former pad + slice + concat bit for bit, forward and gradient', () => {
    for (const shape of SHAPES) {
      for (const seed of SEEDS) {
        const [y, g] = forwardAndGradient((x) => diffAugment(x, ['translation'], seed), shape, seed);
        const [yRef, gRef] = forwardAndGradient((x) => referenceTranslation(x, seed), shape, seed);
        expect(firstBitDifference(y, yRef), `forward ${shape} seed ${seed}`).toBe(-1);
        expect(firstBitDifference(g, gRef), `gradient ${shape} seed ${seed}`).toBe(-1);
      }
    }
  });

  it('zero fills what is shifted in, with +0', () => {
    const shape: Shape = [5, 8, 8, 3];
    const [b, h, w, c] = shape;
    // Distinct positive values name their source element, so each output value says where it came from.
    const x = tf.tensor4d(
      Float32Array.from({ length: b * h * w * c }, (_, k) => k + 1),
      shape,
    );
    const out = tf.tidy(() => diffAugment(x, ['translation'], 4));
    const got = out.dataSync();
    tf.dispose([x, out]);
    // The shifts the augmentation drew (|shift| <= round(8 / 8) = 1).
    const rng = new Rng(4);
    let zeros = 0;
    for (let i = 0; i < b; i++) {
      const dy = intIn(rng, -1, 1);
      const dx = intIn(rng, -1, 1);
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          for (let ch = 0; ch < c; ch++) {
            const v = got[((i * h + y) * w + xx) * c + ch];
            const [sy, sx] = [y - dy, xx - dx];
            if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
              expect(Object.is(v, 0), `image ${i} (${y}, ${xx}) is ${v}`).toBe(true);
              zeros++;
            } else {
              expect(v).toBe(((i * h + sy) * w + sx) * c + ch + 1);
            }
          }
        }
      }
    }
    expect(zeros).toBeGreaterThan(0); // seed 4 does shift some images
  });

  it('is one op forward and one backward', async () => {
    const x = tf.tensor4d(values(5 * 8 * 8 * 3, 9, 0), [5, 8, 8, 3]);
    const w = tf.onesLike(x);
    // Kernel calls recorded by tf.profile (a customGrad op counts as one).
    const kernels = async (f: () => tf.Tensor): Promise<number> => {
      const info = await tf.profile(() => tf.tidy(f));
      tf.dispose(info.result as tf.Tensor);
      return info.kernels.length;
    };
    const loss = (policy: AugmentOp[]) => () =>
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(diffAugment(t as tf.Tensor4D, policy, 5), w)))(x);
    expect(await kernels(() => diffAugment(x, ['translation'], 5))).toBe(1);
    expect((await kernels(loss(['translation']))) - (await kernels(loss([])))).toBe(2);
    tf.dispose([x, w]);
  });

  it('leaks no tensors: alone, in a tidy, under tf.grad and tf.variableGrads', () => {
    const x = tf.tensor4d(values(5 * 8 * 8 * 3, 10, 0), [5, 8, 8, 3]);
    const policy = parseAugmentPolicy('color,translation,cutout');
    const before = tf.memory().numTensors;
    // Alone: just the result, no intermediates.
    const y = diffAugment(x, ['translation'], 6);
    expect(tf.memory().numTensors).toBe(before + 1);
    y.dispose();
    tf.tidy(() => {
      diffAugment(x, policy, 6);
    });
    const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.square(diffAugment(t as tf.Tensor4D, policy, 6))))(x));
    expect(tf.memory().numTensors).toBe(before + 1);
    // As in train-step.ts: the augmentation inside variableGrads' loss, itself inside a tidy.
    const v = tf.variable(x);
    const gv = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(diffAugment(v, policy, 6))) as tf.Scalar, [v]);
      value.dispose();
      return grads[v.name];
    });
    expect(firstBitDifference(gv.dataSync() as Float32Array, g.dataSync() as Float32Array)).toBe(-1);
    tf.dispose([g, gv, v]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
