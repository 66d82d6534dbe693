/**
 * shoebot's own convolution-gradient kernels for the WASM and pure-JS CPU
 * backends (see conv-grads.ts for the maths):
 * - Conv2DBackpropFilter: stock WASM has none (no conv net can train there);
 *   the stock CPU one is a slow JS loop (~20x slower than this rewrite).
 * - Conv2DBackpropInput: the forward pass of every transposed convolution
 *   (tf.layers.conv2dTranspose) and the input gradient of every conv2d; the
 *   stock WASM kernel is a naive loop, the phase split runs on XNNPACK.
 * The gradients of these kernels (tfjs-core's) call Conv2D and the two
 * kernels above, so the generator's and discriminator's backward passes all
 * go through fast paths.
 */
import { tf } from '../../tf/index.ts';
import { conv2dFilterGrad, conv2dInputGrad } from './conv-grads.ts';
import { tileArray } from './tile.ts';

export { conv2dFilterGrad, conv2dInputGrad } from './conv-grads.ts';
export { tileArray } from './tile.ts';

type Backend = 'wasm' | 'cpu';
type KernelName = 'Conv2DBackpropFilter' | 'Conv2DBackpropInput' | 'Tile';
const KERNELS: KernelName[] = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Tile'];

/** Marks our kernel configs so registering twice never wraps our own kernel as the "original". */
const MARK = Symbol.for('shoebot.fastKernel');
type MarkedConfig = tf.KernelConfig & { [MARK]?: tf.KernelConfig | null };

/** Stock kernels we replaced, per backend, for fallbacks and for restoreStockKernels(). */
const stock = new Map<string, tf.KernelConfig | null>();

function asTensor(info: tf.TensorInfo): tf.Tensor4D {
  // Ops pass real Tensors; a bare TensorInfo (direct runKernel callers) gets wrapped.
  return ('rank' in info ? info : tf.engine().makeTensorFromTensorInfo(info)) as tf.Tensor4D;
}

function isNhwc(dataFormat: unknown): boolean {
  return dataFormat === undefined || dataFormat === 'NHWC' || dataFormat === 'channelsLast';
}

function replace(backend: Backend, kernelName: KernelName, kernelFunc: (orig: tf.KernelConfig | null) => tf.KernelFunc): void {
  const current = tf.getKernel(kernelName, backend) as MarkedConfig | undefined;
  if (current && MARK in current) return; // already ours
  const orig = current ?? null;
  stock.set(`${backend}/${kernelName}`, orig);
  if (orig) tf.unregisterKernel(kernelName, backend);
  // Keep the stock setupFunc: WASM kernels bind their C++ entry point there.
  const config: MarkedConfig = { ...(orig ?? {}), kernelName, backendName: backend, kernelFunc: kernelFunc(orig), [MARK]: orig };
  tf.registerKernel(config);
}

function filterGradKernel(orig: tf.KernelConfig | null): tf.KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as unknown as tf.Conv2DBackpropFilterInputs;
    const a = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    if (!isNhwc(a.dataFormat) && orig) return orig.kernelFunc(args);
    if (!isNhwc(a.dataFormat)) throw new Error(`Conv2DBackpropFilter: only NHWC is supported on this backend (got ${a.dataFormat})`);
    return conv2dFilterGrad(asTensor(x!), asTensor(dy!), a.filterShape, a.strides, a.pad, a.dimRoundingMode);
  };
}

function inputGradKernel(orig: tf.KernelConfig | null): tf.KernelFunc {
  return (args) => {
    const { dy, filter } = args.inputs as unknown as tf.Conv2DBackpropInputInputs;
    const a = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const out = isNhwc(a.dataFormat)
      ? conv2dInputGrad(asTensor(dy!), asTensor(filter!), a.inputShape, a.strides, a.pad, a.dimRoundingMode)
      : null;
    if (out) return out;
    if (!orig) throw new Error('Conv2DBackpropInput: no stock kernel to fall back to');
    return orig.kernelFunc(args);
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
    return tf.tensor(out, x.shape.map((d, i) => d * reps[i]), x.dtype);
  };
}

/**
 * Registers shoebot's convolution-gradient kernels for `backend` (idempotent;
 * call after the backend is active). No tensors in or out.
 */
export function registerFastKernels(backend: Backend): void {
  replace(backend, 'Conv2DBackpropFilter', filterGradKernel);
  replace(backend, 'Conv2DBackpropInput', inputGradKernel);
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
  const k = tf.getKernel('Conv2DBackpropInput', backend) as MarkedConfig | undefined;
  return !!k && MARK in k;
}
