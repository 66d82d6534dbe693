/**
 * shoebot's convolution-gradient and Tile kernels (src/tf/kernels) against
 * the stock pure-JS CPU kernels, on the CPU and WASM backends, for the shapes
 * a DCGAN uses; gradients through tf.grads; tensor leaks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTf, switchBackend, tf } from '../../src/tf/index.ts';
import { fastKernelsActive, registerFastKernels, restoreStockKernels } from '../../src/tf/kernels/register.ts';
import { clearPhaseFilterCache, phaseFilterCacheSize } from '../../src/tf/kernels/phase-filters.ts';
import { Rng } from '../../src/gan/latent.ts';
import { relErr, withKernels } from './helpers.ts';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  name: string;
  x: [number, number, number, number];
  f: [number, number, number, number];
  s: number;
  pad: Pad;
}

// Discriminator convs (stride 2 'same' 4x4, last 4x4 'valid' to one logit),
// generator transposed convs (the same convs' input gradients), the explicit
// padding a PyTorch-style ConvTranspose2d(k=4, s=2, p=1) maps to, batch 1 and >1, 1 and 3 channels.
const CASES: Case[] = [
  { name: 'D first layer, grey, batch 1', x: [1, 16, 16, 1], f: [4, 4, 1, 8], s: 2, pad: 'same' },
  { name: 'D first layer, RGB, batch 3', x: [3, 16, 16, 3], f: [4, 4, 3, 8], s: 2, pad: 'same' },
  { name: 'D middle layer', x: [2, 8, 8, 8], f: [4, 4, 8, 16], s: 2, pad: 'same' },
  { name: 'D last layer 4x4 valid -> 1x1', x: [2, 4, 4, 16], f: [4, 4, 16, 1], s: 1, pad: 'valid' },
  { name: 'G first layer (1x1 -> 4x4 transposed)', x: [3, 4, 4, 8], f: [4, 4, 8, 10], s: 1, pad: 'valid' },
  {
    name: 'explicit pads 1,1 stride 2',
    x: [2, 8, 8, 3],
    f: [4, 4, 3, 5],
    s: 2,
    pad: [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
  },
  {
    name: 'asymmetric explicit pads',
    x: [2, 8, 8, 3],
    f: [4, 4, 3, 5],
    s: 2,
    pad: [
      [0, 0],
      [2, 1],
      [0, 3],
      [0, 0],
    ],
  },
  { name: 'odd sizes stride 2 same', x: [2, 9, 7, 2], f: [4, 4, 2, 3], s: 2, pad: 'same' },
  { name: 'stride 2 valid', x: [2, 9, 9, 3], f: [4, 4, 3, 4], s: 2, pad: 'valid' },
  { name: 'stride 1 same', x: [2, 6, 6, 3], f: [4, 4, 3, 4], s: 1, pad: 'same' },
  // Wider layers take the per-phase path (few-channel ones the combined convolution).
  { name: 'G middle layer, per-phase path', x: [2, 8, 8, 12], f: [4, 4, 12, 6], s: 2, pad: 'same' },
  {
    name: 'per-phase path, odd sizes, explicit pads',
    x: [3, 9, 7, 10],
    f: [4, 4, 10, 4],
    s: 2,
    pad: [
      [0, 0],
      [1, 2],
      [2, 1],
      [0, 0],
    ],
  },
];

const rng = new Rng(1234);
function data(shape: number[]): Float32Array {
  return rng.normalArray(
    shape.reduce((a, b) => a * b, 1),
    0,
    1,
  );
}

function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, c: Case): tf.Tensor {
  return tf
    .engine()
    .runKernel(
      'Conv2DBackpropFilter',
      { x, dy },
      { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: c.f },
    ) as tf.Tensor;
}
function inputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, c: Case): tf.Tensor {
  return tf
    .engine()
    .runKernel(
      'Conv2DBackpropInput',
      { dy, filter: w },
      { strides: c.s, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x },
    ) as tf.Tensor;
}
/** conv2dTranspose with tf.conv2d's pad notation ('same'/'valid'/explicit). */
function tconv(x: tf.Tensor4D, w: tf.Tensor4D, c: Case): tf.Tensor4D {
  // conv2dTranspose(x: [n,ho,wo,co], w [fh,fw,ci,co]) -> [n,H,W,ci] is Conv2DBackpropInput.
  return tf.conv2dTranspose(x, w, c.x, c.s, c.pad as 'same');
}

interface Inputs {
  x: Float32Array;
  w: Float32Array;
  dy: Float32Array;
  dyShape: [number, number, number, number];
  r: Float32Array; // random projection of a transposed conv's output (a scalar loss for tf.grads)
}
interface Outputs {
  conv: Float32Array;
  dW: Float32Array;
  dX: Float32Array;
  tconv: Float32Array;
  gradConv: Float32Array[]; // d/dx, d/dw of sum(conv2d(x, w) * dy)
  gradTconv: Float32Array[]; // d/dy, d/dw of sum(conv2dTranspose(dy, w) * r)
}

function inputsFor(c: Case): Inputs {
  const dyShape = tf.tidy(
    () => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.s, c.pad).shape,
  );
  return { x: data(c.x), w: data(c.f), dy: data(dyShape), dyShape, r: data(c.x) };
}

/** Everything computed on the active backend with the kernels registered now. */
function compute(c: Case, d: Inputs): Outputs {
  return tf.tidy(() => {
    const x = tf.tensor4d(d.x, c.x);
    const w = tf.tensor4d(d.w, c.f);
    const dy = tf.tensor4d(d.dy, d.dyShape);
    const r = tf.tensor4d(d.r, c.x);
    const read = (t: tf.Tensor) => t.dataSync() as Float32Array;
    const gradConv = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), dy)),
    )([x, w]);
    const gradTconv = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tconv(a as tf.Tensor4D, b as tf.Tensor4D, c), r)),
    )([dy, w]);
    return {
      conv: read(tf.conv2d(x, w, c.s, c.pad)),
      dW: read(filterGrad(x, dy, c)),
      dX: read(inputGrad(dy, w, c)),
      tconv: read(tconv(dy, w, c)),
      gradConv: gradConv.map(read),
      gradTconv: gradTconv.map(read),
    } as unknown as tf.TensorContainer;
  }) as unknown as Outputs;
}

const inputs = new Map<string, Inputs>();
const reference = new Map<string, Outputs>();

beforeAll(async () => {
  await initTf('cpu');
  // Reference: the stock pure-JS CPU kernels.
  restoreStockKernels('cpu');
  expect(fastKernelsActive('cpu')).toBe(false);
  for (const c of CASES) {
    const d = inputsFor(c);
    inputs.set(c.name, d);
    reference.set(c.name, compute(c, d));
  }
  registerFastKernels('cpu');
});

afterAll(async () => {
  await switchBackend('cpu');
});

describe.each(['cpu', 'wasm'] as const)('fast kernels on %s', (backend) => {
  beforeAll(async () => {
    await switchBackend(backend);
    expect(tf.getBackend()).toBe(backend);
    expect(fastKernelsActive(backend)).toBe(true);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s: agree with the stock CPU kernels', (_name, c) => {
    const ref = reference.get(c.name)!;
    const got = compute(c, inputs.get(c.name)!);
    expect(relErr(got.conv, ref.conv)).toBeLessThan(1e-4);
    expect(relErr(got.dW, ref.dW)).toBeLessThan(1e-4);
    expect(relErr(got.dX, ref.dX)).toBeLessThan(1e-4);
    expect(relErr(got.tconv, ref.tconv)).toBeLessThan(1e-4);
    for (let i = 0; i < 2; i++) {
      expect(relErr(got.gradConv[i], ref.gradConv[i])).toBeLessThan(1e-4);
      expect(relErr(got.gradTconv[i], ref.gradTconv[i])).toBeLessThan(1e-4);
    }
  });

  it('leaks no tensors', () => {
    const c = CASES[2];
    const d = inputs.get(c.name)!;
    const x = tf.tensor4d(d.x, c.x);
    const w = tf.tensor4d(d.w, c.f);
    const dy = tf.tensor4d(d.dy, d.dyShape);
    const before = tf.memory().numTensors;
    for (const out of [filterGrad(x, dy, c), inputGrad(dy, w, c), tconv(dy, w, c), tf.tile(w, [2, 1, 3, 1])])
      out.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, dy]);
  });

  // The phase split through tf ops (and its cache) is WASM's path with SHOEBOT_GEMM=off (and for a
  // 1x1 input); the CPU backend keeps its stock input gradient.
  it.runIf(backend === 'wasm')('caches phase filters per weight tensor and frees them with it', () => {
    withKernels(false, phaseCacheChecks);
  });

  function phaseCacheChecks(): void {
    const c = CASES[2];
    const d = inputs.get(c.name)!;
    const backendIds = () => (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();
    clearPhaseFilterCache();
    const ids0 = backendIds();
    const t0 = tf.memory().numTensors;
    const init = tf.tensor4d(d.w, c.f);
    const w = tf.variable(init);
    init.dispose(); // else the variable's first data stays alive through it
    const dy = tf.tensor4d(d.dy, d.dyShape);
    const a = tconv(dy, w, c);
    const b = tconv(dy, w, c);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(phaseFilterCacheSize()).toBe(1);
    // An optimiser-style update gives the variable new data: new filters, the old set is freed.
    tf.tidy(() => w.assign(tf.mul(w, 2)));
    const c2 = tconv(dy, w, c);
    expect(
      relErr(
        c2.dataSync() as Float32Array,
        Float32Array.from(a.dataSync(), (v) => 2 * v),
      ),
    ).toBeLessThan(1e-5);
    expect(phaseFilterCacheSize()).toBe(1);
    w.dispose();
    const w2 = tf.tensor4d(d.w, c.f);
    tf.dispose([tconv(dy, w2, c), a, b, c2]);
    expect(phaseFilterCacheSize()).toBe(1); // only w2's
    tf.dispose([w2, dy]);
    expect(tf.memory().numTensors).toBe(t0); // cached filters are never engine tensors
    clearPhaseFilterCache();
    expect(backendIds()).toBe(ids0);
  }

  it('tiles like the stock kernel (float32 and int32, the BN-gradient pattern)', () => {
    const cases: Array<[number[], number[]]> = [
      [
        [1, 1, 1, 5],
        [3, 4, 2, 1],
      ],
      [
        [2, 3],
        [2, 2],
      ],
      [[3], [4]],
      [
        [2, 1, 3],
        [1, 5, 2],
      ],
    ];
    for (const [shape, reps] of cases) {
      const size = shape.reduce((a, b) => a * b, 1);
      for (const dtype of ['float32', 'int32'] as const) {
        const vals = Array.from({ length: size }, (_, i) => (dtype === 'int32' ? i * 3 - 2 : i * 1.5 - 2));
        const got = tf.tidy(() => tf.tile(tf.tensor(vals, shape, dtype), reps).arraySync());
        // Reference by definition: repeat along each axis with concat.
        const expected = tf.tidy(() => {
          let t = tf.tensor(vals, shape, dtype);
          reps.forEach((r, axis) => {
            t = tf.concat(
              Array.from({ length: r }, () => t),
              axis,
            );
          });
          return t.arraySync();
        });
        expect(got).toEqual(expected);
      }
    }
  });
});

describe('registration', () => {
  it('is idempotent and reversible', async () => {
    await switchBackend('wasm');
    registerFastKernels('wasm');
    registerFastKernels('wasm');
    expect(fastKernelsActive('wasm')).toBe(true);
    restoreStockKernels('wasm');
    expect(fastKernelsActive('wasm')).toBe(false);
    // Stock WASM has no filter gradient; the stock input gradient still runs (its setupFunc survived).
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    const c = CASES[2];
    const d = inputs.get(c.name)!;
    const dx = tf.tidy(
      () => inputGrad(tf.tensor4d(d.dy, d.dyShape), tf.tensor4d(d.w, c.f), c).dataSync() as Float32Array,
    );
    expect(relErr(dx, reference.get(c.name)!.dX)).toBeLessThan(1e-4);
    registerFastKernels('wasm');
    expect(fastKernelsActive('wasm')).toBe(true);
  });
});
