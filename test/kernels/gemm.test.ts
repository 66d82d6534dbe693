/**
 * shoebot's WebAssembly matrix kernel (src/tf/kernels/gemm-wasm.ts) and the convolutions built on
 * it (conv-gemm.ts, conv-gemm-input-grad.ts), on the WASM backend's heap: both flavours (FMA and
 * mul+add) against plain JavaScript sums and against the XNNPACK-based paths they replace,
 * including the cache-blocking splits (made small here so that small shapes take them), tails of
 * rows and panels, and no leaks of tensors or heap.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../../src/tf/index.ts';
import { sleb, uleb } from '../../src/tf/kernels/wasm-emit.ts';
import { MR, NR } from '../../src/tf/kernels/gemm-emit.ts';
import { createGemmKernel, type GemmKernel } from '../../src/tf/kernels/gemm-wasm.ts';
import { conv2dFilterGrad, conv2dForward } from '../../src/tf/kernels/conv-gemm.ts';
import { conv2dInputGrad } from '../../src/tf/kernels/conv-gemm-input-grad.ts';
import { clearPackedWeights, packedWeightCount } from '../../src/tf/kernels/gemm-operands.ts';
import type { WasmBackendLike } from '../../src/tf/kernels/wasm-backend.ts';
import { Rng } from '../../src/gan/latent.ts';
import { relErr, withKernels } from './helpers.ts';

let backend: WasmBackendLike;
const rng = new Rng(77);
const kernels: Record<string, GemmKernel> = {};

beforeAll(async () => {
  await initTf('wasm');
  expect(tf.getBackend()).toBe('wasm');
  backend = tf.backend() as unknown as WasmBackendLike;
  const memory = backend.wasm.asm.memory;
  kernels.fma = createGemmKernel(memory, { prefer: 'fma' });
  kernels.simd = createGemmKernel(memory, { prefer: 'simd' });
  // Tiny blocks: every call below splits its reduction and groups its panels.
  kernels.blocked = createGemmKernel(memory, { bBlockBytes: 4096, aTileBytes: 256 });
});

describe('LEB128', () => {
  it('encodes as the WebAssembly spec says', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });
});

describe('gemm kernel', () => {
  it('uses FMA when this V8 has relaxed SIMD (Node 20 behind a flag we set, Node 22 by default)', () => {
    expect(kernels.fma.flavour).toBe('fma');
    expect(kernels.simd.flavour).toBe('simd');
  });

  it.each(['fma', 'simd', 'blocked'])(
    '%s: C (+)= A*B over three reduction levels, with row and panel tails',
    (name) => {
      const k = kernels[name];
      const wasm = backend.wasm;
      // A [M, K] row-major with K = 3*2*5 walked as levels (3, 2, 5); B packed in panels.
      const M = 10;
      const N = 20;
      const dims = [3, 2, 5];
      const K = dims[0] * dims[1] * dims[2];
      const panels = Math.ceil(N / NR);
      const tiles = Math.ceil(M / MR);
      const a = rng.normalArray(M * K, 0, 1);
      const b = rng.normalArray(K * N, 0, 1);
      const c0 = rng.normalArray(tiles * MR * panels * NR, 0, 1);
      const bytes = (M * K + panels * K * NR + tiles * MR * panels * NR + 2 * tiles * MR) * 4;
      const base = wasm._malloc(bytes);
      try {
        const pa = base;
        const pb = pa + M * K * 4;
        const pc = pb + panels * K * NR * 4;
        const tabA = pc + tiles * MR * panels * NR * 4;
        const tabC = tabA + tiles * MR * 4;
        const heap = new Float32Array(wasm.asm.memory.buffer);
        const ints = new Int32Array(wasm.asm.memory.buffer);
        heap.set(a, pa >> 2);
        for (let p = 0; p < panels; p++) {
          for (let kk = 0; kk < K; kk++) {
            for (let j = 0; j < NR; j++)
              heap[(pb >> 2) + (p * K + kk) * NR + j] = p * NR + j < N ? b[kk * N + p * NR + j] : 0;
          }
        }
        for (let m = 0; m < tiles * MR; m++) {
          ints[(tabA >> 2) + m] = pa + Math.min(m, M - 1) * K * 4;
          ints[(tabC >> 2) + m] = pc + m * panels * NR * 4;
        }
        for (const accumulate of [false, true]) {
          heap.set(c0, pc >> 2);
          k.run({
            tabA,
            tabC,
            tiles,
            panels,
            b: pb,
            panelStride: K * NR * 4,
            levels: [
              { n: dims[0], aStep: dims[1] * dims[2] * 4, bStep: dims[1] * dims[2] * NR * 4 },
              { n: dims[1], aStep: dims[2] * 4, bStep: dims[2] * NR * 4 },
              { n: dims[2], aStep: 4, bStep: NR * 4 },
            ],
            accumulate,
            bBytesPerPanelStep: dims[1] * dims[2] * NR * 4,
          });
          const got: number[] = [];
          const want: number[] = [];
          const out = new Float32Array(wasm.asm.memory.buffer, pc, tiles * MR * panels * NR);
          for (let m = 0; m < M; m++) {
            for (let n = 0; n < N; n++) {
              let sum = accumulate ? c0[m * panels * NR + n] : 0;
              for (let kk = 0; kk < K; kk++) sum += a[m * K + kk] * b[kk * N + n];
              want.push(sum);
              got.push(out[m * panels * NR + n]);
            }
            // Panel tail columns hold products with zero columns of B.
            for (let n = N; n < panels * NR; n++)
              expect(out[m * panels * NR + n]).toBeCloseTo(accumulate ? c0[m * panels * NR + n] : 0, 5);
          }
          expect(relErr(got, want)).toBeLessThan(1e-6);
        }
      } finally {
        wasm._free(base);
      }
    },
  );
});

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  x: [number, number, number, number];
  f: [number, number, number, number];
  s: number;
  pad: Pad;
}
// DCGAN-like convolutions plus shapes that hit the tails: channel counts that are not a multiple of
// 8 (RGB in and out, one logit), odd sizes, stride 1, explicit asymmetric pads, K above the tile
// budget (split) and B above the block budget (grouped).
const CASES: Case[] = [
  { x: [3, 16, 16, 3], f: [4, 4, 3, 16], s: 2, pad: 'same' },
  { x: [2, 8, 8, 24], f: [4, 4, 24, 3], s: 2, pad: 'same' },
  { x: [2, 4, 4, 16], f: [4, 4, 16, 1], s: 1, pad: 'valid' },
  { x: [2, 9, 7, 5], f: [3, 3, 5, 6], s: 1, pad: 'same' },
  {
    x: [3, 9, 7, 10],
    f: [4, 4, 10, 12],
    s: 2,
    pad: [
      [0, 0],
      [1, 2],
      [2, 1],
      [0, 0],
    ],
  },
  { x: [5, 6, 6, 72], f: [4, 4, 72, 40], s: 2, pad: 'same' },
];

const fromInfo = (info: tf.TensorInfo) => tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor4D;

describe.each(['fma', 'simd', 'blocked'])('convolutions on the %s kernel', (name) => {
  it.each(CASES.map((c) => [JSON.stringify(c), c] as const))(
    '%s: forward, input and filter gradient match the previous paths',
    (_n, c) => {
      const gemm = kernels[name];
      const x = tf.tensor4d(
        rng.normalArray(
          c.x.reduce((p, q) => p * q),
          0,
          1,
        ),
        c.x,
      );
      const w = tf.tensor4d(
        rng.normalArray(
          c.f.reduce((p, q) => p * q),
          0,
          1,
        ),
        c.f,
      );
      // Reference: the registered kernels with the matrix kernel off (XNNPACK through tf ops).
      const { ref, dy, refDx, refDw } = withKernels(false, () => {
        const ref = tf.conv2d(x, w, c.s, c.pad);
        const dy = tf.tensor4d(rng.normalArray(ref.size, 0, 1), ref.shape);
        const refDx = tf.conv2dTranspose(dy, w, c.x, c.s, c.pad as 'same');
        const refDw = tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x, dy },
            { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: c.f },
          ) as tf.Tensor;
        return { ref, dy, refDx, refDw };
      });
      const before = tf.memory().numTensors;
      const y = fromInfo(conv2dForward(backend, x, w, c.s, c.pad, undefined, { gemm }));
      const dx = fromInfo(conv2dInputGrad(backend, dy, w, c.x, c.s, c.pad, undefined, { gemm }));
      // A small chunk: the filter gradient reduces over the batch in several calls.
      const dw = fromInfo(conv2dFilterGrad(backend, x, dy, c.f, c.s, c.pad, undefined, { gemm, chunkBytes: 2048 }));
      expect(tf.memory().numTensors).toBe(before + 3);
      expect(y.shape).toEqual(ref.shape);
      expect(relErr(y.dataSync(), ref.dataSync())).toBeLessThan(1e-5);
      expect(relErr(dx.dataSync(), refDx.dataSync())).toBeLessThan(1e-5);
      expect(relErr(dw.dataSync(), refDw.dataSync())).toBeLessThan(1e-5);
      tf.dispose([x, w, ref, dy, refDx, refDw, y, dx, dw]);
    },
  );
});

describe('registered on WASM', () => {
  it('takes the matrix kernel for conv2d and its gradients, and frees its scratch heap', () => {
    const c = CASES[5];
    const x = tf.tensor4d(
      rng.normalArray(
        c.x.reduce((p, q) => p * q),
        0,
        1,
      ),
      c.x,
    );
    const w = tf.variable(
      tf.tensor4d(
        rng.normalArray(
          c.f.reduce((p, q) => p * q),
          0,
          1,
        ),
        c.f,
      ),
    );
    const step = () =>
      tf.tidy(() =>
        tf
          .grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))),
          )([x, w])
          .map((g) => g.dataSync()),
      );
    const ref = withKernels(false, step);
    const got = withKernels(true, step);
    for (let i = 0; i < 2; i++) expect(relErr(got[i], ref[i])).toBeLessThan(1e-5);
    // Scratch buffers are freed: repeated steps do not grow the heap's live allocations.
    const tensors = tf.memory().numTensors;
    const heapBefore = backend.wasm.asm.memory.buffer.byteLength;
    withKernels(true, () => {
      for (let i = 0; i < 20; i++) step();
    });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.wasm.asm.memory.buffer.byteLength).toBe(heapBefore);
    tf.dispose([x, w]);
  });

  it('packs a filter once while it lives, and frees its packed copy with it', () => {
    clearPackedWeights();
    const c = CASES[4];
    const x = tf.tensor4d(
      rng.normalArray(
        c.x.reduce((p, q) => p * q),
        0,
        1,
      ),
      c.x,
    );
    const init = tf.tensor4d(
      rng.normalArray(
        c.f.reduce((p, q) => p * q),
        0,
        1,
      ),
      c.f,
    );
    const w = tf.variable(init);
    init.dispose();
    const conv = () => tf.tidy(() => Array.from(tf.conv2d(x, w, c.s, c.pad).dataSync()));
    const a = conv();
    expect(packedWeightCount()).toBe(1);
    expect(conv()).toEqual(a);
    expect(packedWeightCount()).toBe(1);
    // An optimiser-style update: new data, so a new packed copy; the old one goes at the next lookup.
    tf.tidy(() => w.assign(tf.mul(w, 2)));
    const b = conv();
    expect(
      relErr(
        b,
        a.map((v) => 2 * v),
      ),
    ).toBeLessThan(1e-6);
    expect(packedWeightCount()).toBe(1);
    w.dispose();
    const other = tf.tensor4d(
      rng.normalArray(
        c.f.reduce((p, q) => p * q),
        0,
        1,
      ),
      c.f,
    );
    tf.tidy(() => tf.conv2d(x, other, c.s, c.pad));
    expect(packedWeightCount()).toBe(1); // only other's
    tf.dispose([x, other]);
    clearPackedWeights();
    expect(packedWeightCount()).toBe(0);
  });
});
