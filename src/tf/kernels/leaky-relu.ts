/**
 * Leaky ReLU and its gradient on the WASM backend as single SIMD passes of the kernel module (the
 * discriminator's activation: the stock forward is a scalar loop, and tfjs's gradient runs three
 * kernels, Greater + Multiply + Select, each a full pass). Both give the stock results bit for bit.
 */
import { tf } from '../tfjs.ts';
import { gemmFor, heapF32, offsetOf, type WasmBackendLike } from './wasm-backend.ts';

/** The gradient kernel's name (registered on WASM only; LeakyRelu's gradient falls back without it). */
export const LEAKY_RELU_GRAD = 'ShoebotLeakyReluGrad';

/** Whether these kernels take this case: float32 data and 0 <= alpha <= 1 (then max(x, alpha x) is the leaky ReLU). */
export function leakyReluApplies(x: tf.TensorInfo, alpha: number): boolean {
  return x.dtype === 'float32' && alpha >= 0 && alpha <= 1;
}

/** x [any] -> x < 0 ? alpha * x : x, same shape. */
export function leakyRelu(backend: WasmBackendLike, x: tf.TensorInfo, alpha: number): tf.TensorInfo {
  const n = x.shape.reduce((a, b) => a * b, 1);
  const out = backend.makeOutput([...x.shape], 'float32');
  const [src, dst] = [offsetOf(backend, x), offsetOf(backend, out)];
  gemmFor(backend).leakyRelu(src, dst, n >> 2, alpha);
  const heap = heapF32(backend);
  const a = Math.fround(alpha);
  for (let i = n & ~3; i < n; i++) {
    const v = heap[(src >> 2) + i];
    heap[(dst >> 2) + i] = v < 0 ? Math.fround(a * v) : v;
  }
  return out;
}

/** dy, x [same shape] -> x > 0 ? dy : dy * alpha. */
export function leakyReluGrad(
  backend: WasmBackendLike,
  dy: tf.TensorInfo,
  x: tf.TensorInfo,
  alpha: number,
): tf.TensorInfo {
  const n = x.shape.reduce((a, b) => a * b, 1);
  const out = backend.makeOutput([...x.shape], 'float32');
  const [g, xs, dst] = [offsetOf(backend, dy), offsetOf(backend, x), offsetOf(backend, out)];
  gemmFor(backend).leakyReluGrad(g, xs, dst, n >> 2, alpha);
  const heap = heapF32(backend);
  const a = Math.fround(alpha);
  for (let i = n & ~3; i < n; i++) {
    const d = heap[(g >> 2) + i];
    heap[(dst >> 2) + i] = heap[(xs >> 2) + i] > 0 ? d : Math.fround(d * a);
  }
  return out;
}

let gradientRegistered = false;

/**
 * Replaces tfjs's LeakyRelu gradient (a global registry entry) by one that calls LEAKY_RELU_GRAD
 * where it is registered for the active backend and the case applies, and tfjs's own formula
 * (Greater, Multiply, Select) everywhere else.
 */
export function registerLeakyReluGradient(useKernel: () => boolean): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: 'LeakyRelu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const { alpha } = attrs as unknown as tf.LeakyReluAttrs;
      const g = dy as tf.Tensor;
      return {
        x: () =>
          useKernel() &&
          tf.getKernel(LEAKY_RELU_GRAD, tf.getBackend()) &&
          leakyReluApplies(x, alpha) &&
          g.dtype === 'float32'
            ? (tf
                .engine()
                .runKernel(LEAKY_RELU_GRAD, { dy: g, x }, { alpha } as unknown as tf.NamedAttrMap) as tf.Tensor)
            : tf.where(tf.greater(x, 0), g, tf.mul(g, alpha)),
      };
    },
  });
}
