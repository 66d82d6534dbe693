/**
 * shoebot's own kernels for the WASM and pure-JS CPU backends:
 * - Conv2D, FusedConv2D (without bias/activation), Conv2DBackpropInput and Conv2DBackpropFilter on
 *   WASM run on shoebot's WebAssembly matrix kernel (conv-gemm*.ts, gemm-wasm.ts): ~40 GFLOP/s on
 *   one core here, where the stock kernels (XNNPACK) reach ~22 and WASM has no filter gradient at
 *   all (tfjs#8474). SHOEBOT_GEMM=off keeps the previous paths (conv-grads.ts: the filter gradient
 *   as a forward convolution, transposed convolutions split into stride-1 phases, on XNNPACK),
 *   which also serve a 1x1 input spread over a whole filter (the generator's first layer).
 * - Sum and Mean over all axes but the last on WASM (batch norm's statistics and gradients) in one
 *   pass (channel-reduce.ts); the stock kernels transpose the whole input first.
 * - LeakyRelu and its gradient on WASM in one SIMD pass each (leaky-relu.ts).
 * - Conv2DBackpropFilter on CPU: the stock one is a slow JS loop (~20x slower than conv-grads.ts).
 * - Tile: batch norm's gradient tiles per-channel vectors to the activation's
 *   shape; the stock WASM Tile costs ~100 ms per call at DCGAN sizes.
 * The gradients of the convolution kernels (tfjs-core's) call these kernels again, so the
 * generator's and discriminator's backward passes all take the fast paths. This module registers
 * them with tfjs in place of the stock kernels (falling back to those where a case is not ours)
 * and can put the stock ones back; the convolutions' kernel functions are in conv-kernels.ts, the
 * others' here.
 */
import { tf } from '../tfjs.ts';
import { conv2dKernel, filterGradKernel, fusedConv2dKernel, inputGradKernel } from './conv-kernels.ts';
import { gemmWanted, type WasmBackendLike } from './wasm-backend.ts';
import { channelReduce, channelReducible, reducesAllButLast } from './channel-reduce.ts';
import {
  LEAKY_RELU_GRAD,
  leakyRelu,
  leakyReluApplies,
  leakyReluGrad,
  registerLeakyReluGradient,
} from './leaky-relu.ts';
import { tileArray } from './tile.ts';

type Backend = 'wasm' | 'cpu';
type KernelName =
  | 'Conv2DBackpropFilter'
  | 'Conv2DBackpropInput'
  | 'Tile'
  | 'Conv2D'
  | 'FusedConv2D'
  | 'Sum'
  | 'Mean'
  | 'LeakyRelu'
  | typeof LEAKY_RELU_GRAD;
const KERNELS: KernelName[] = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'Tile',
  'Conv2D',
  'FusedConv2D',
  'Sum',
  'Mean',
  'LeakyRelu',
  LEAKY_RELU_GRAD,
];

/** Marks our kernel configs so registering twice never wraps our own kernel as the "original". */
const MARK = Symbol.for('shoebot.fastKernel');
type MarkedConfig = tf.KernelConfig & { [MARK]?: tf.KernelConfig | null };

/** Stock kernels we replaced, per backend, for fallbacks and for restoreStockKernels(). */
const stock = new Map<string, tf.KernelConfig | null>();

function replace(
  backend: Backend,
  kernelName: KernelName,
  kernelFunc: (orig: tf.KernelConfig | null) => tf.KernelFunc,
): void {
  const current = tf.getKernel(kernelName, backend) as MarkedConfig | undefined;
  if (current && MARK in current) return; // already ours
  const orig = current ?? null;
  stock.set(`${backend}/${kernelName}`, orig);
  if (orig) tf.unregisterKernel(kernelName, backend);
  // Keep the stock setupFunc: WASM kernels bind their C++ entry point there.
  const config: MarkedConfig = {
    ...(orig ?? {}),
    kernelName,
    backendName: backend,
    kernelFunc: kernelFunc(orig),
    [MARK]: orig,
  };
  tf.registerKernel(config);
}

/** Sum / Mean over all axes but the last (batch norm's pattern) in one pass; the stock kernel otherwise. */
function channelReduceKernel(mean: boolean): (orig: tf.KernelConfig | null) => tf.KernelFunc {
  return (orig) => (args) => {
    const x = (args.inputs as unknown as tf.SumInputs).x!;
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    if (gemmWanted() && channelReducible(x) && reducesAllButLast(axis, x.shape)) {
      return channelReduce(args.backend as unknown as WasmBackendLike, x, mean, keepDims);
    }
    if (!orig) throw new Error(`${mean ? 'Mean' : 'Sum'}: no stock kernel`);
    return orig.kernelFunc(args);
  };
}

function leakyReluKernel(orig: tf.KernelConfig | null): tf.KernelFunc {
  return (args) => {
    const x = (args.inputs as unknown as tf.LeakyReluInputs).x!;
    const { alpha } = args.attrs as unknown as tf.LeakyReluAttrs;
    if (gemmWanted() && leakyReluApplies(x, alpha))
      return leakyRelu(args.backend as unknown as WasmBackendLike, x, alpha);
    if (!orig) throw new Error('LeakyRelu: no stock kernel');
    return orig.kernelFunc(args);
  };
}

/** Only registered where no stock kernel exists: the gradient checks applicability before calling it. */
function leakyReluGradKernel(): tf.KernelFunc {
  return (args) => {
    const { dy, x } = args.inputs as unknown as { dy: tf.TensorInfo; x: tf.TensorInfo };
    const { alpha } = args.attrs as unknown as tf.LeakyReluAttrs;
    return leakyReluGrad(args.backend as unknown as WasmBackendLike, dy, x, alpha);
  };
}

function tileKernel(orig: tf.KernelConfig | null): tf.KernelFunc {
  return (args) => {
    const x = (args.inputs as unknown as tf.TileInputs).x!;
    const { reps } = args.attrs as unknown as tf.TileAttrs;
    if (x.dtype === 'string' || x.dtype === 'complex64') {
      if (!orig) throw new Error(`Tile: dtype ${x.dtype} is not supported`);
      return orig.kernelFunc(args);
    }
    const backend = args.backend as { readSync(dataId: object): unknown };
    const src = backend.readSync(x.dataId) as Float32Array | Int32Array | Uint8Array;
    const out = tileArray(src, x.shape, reps);
    return tf.tensor(
      out,
      x.shape.map((d, i) => d * reps[i]),
      x.dtype,
    );
  };
}

/**
 * Registers shoebot's kernels for `backend` (idempotent; call after the
 * backend is active). No tensors in or out. On the pure-JS CPU backend the
 * phase-split Conv2DBackpropInput is not faster than the stock loop (the JS
 * Conv2D it would call is no quicker), so only the filter gradient and Tile
 * are replaced there.
 */
export function registerFastKernels(backend: Backend): void {
  replace(backend, 'Conv2DBackpropFilter', filterGradKernel);
  if (backend === 'wasm') {
    replace(backend, 'Conv2DBackpropInput', inputGradKernel);
    replace(backend, 'Conv2D', conv2dKernel);
    replace(backend, 'FusedConv2D', fusedConv2dKernel);
    replace(backend, 'Sum', channelReduceKernel(false));
    replace(backend, 'Mean', channelReduceKernel(true));
    replace(backend, 'LeakyRelu', leakyReluKernel);
    replace(backend, LEAKY_RELU_GRAD, leakyReluGradKernel);
    registerLeakyReluGradient(gemmWanted);
  }
  replace(backend, 'Tile', tileKernel);
}

/**
 * Puts the stock kernels back (benchmarks and tests compare against them).
 * A kernel the backend never had (WASM's filter gradient) is removed.
 */
export function restoreStockKernels(backend: Backend): void {
  for (const kernelName of KERNELS) {
    const key = `${backend}/${kernelName}`;
    if (!stock.has(key)) continue;
    tf.unregisterKernel(kernelName, backend);
    const orig = stock.get(key);
    if (orig) tf.registerKernel(orig);
    stock.delete(key);
  }
}

/** Whether shoebot's kernels are currently registered for `backend`. */
export function fastKernelsActive(backend: Backend): boolean {
  const k = tf.getKernel('Conv2DBackpropFilter', backend) as MarkedConfig | undefined;
  return !!k && MARK in k;
}
