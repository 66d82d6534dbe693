/**
 * Sum and Mean over every axis but the last (batch norm's statistics and gradients in NHWC:
 * [N,H,W,C] -> [C]) on the WASM backend, read in place by the matrix kernel module's column sums
 * (four channels per SIMD add, float32 in row order: the stock kernel's arithmetic). The stock WASM
 * kernels first transpose the whole input so that the reduced axes are innermost (8.1 ms for a
 * [32,32,32,64] Sum, most of it the transpose).
 */
import { tf } from '../tfjs.ts';
import { gemmFor, heapF32, offsetOf, type WasmBackendLike } from './wasm-backend.ts';

/** Whether `axis` (tfjs notation, may be negative or a number) is exactly 0..rank-2 of `shape`. */
export function reducesAllButLast(axis: number | number[] | undefined, shape: number[]): boolean {
  if (shape.length < 2 || axis === undefined) return false;
  const axes = tf.util.parseAxisParam(axis, shape).sort((a, b) => a - b);
  return axes.length === shape.length - 1 && axes.every((a, i) => a === i);
}

/**
 * x [..., C] float32 -> per-channel sum (or mean) as [C], or [1, ..., 1, C] with keepDims.
 * Returns a new TensorInfo made by the backend.
 */
export function channelReduce(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  mean: boolean,
  keepDims: boolean,
): tf.TensorInfo {
  const c = x.shape[x.shape.length - 1];
  const count = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const out = backend.makeOutput(keepDims ? [...x.shape.slice(0, -1).map(() => 1), c] : [c], 'float32');
  const o = offsetOf(backend, out);
  gemmFor(backend).columnSums(offsetOf(backend, x), count, c / 4, c * 4, o);
  if (mean) {
    // Divided in float32, as the stock Mean does after its sum.
    const heap = heapF32(backend);
    for (let k = 0; k < c; k++) heap[(o >> 2) + k] = Math.fround(heap[(o >> 2) + k] / count);
  }
  return out;
}

/** Whether channelReduce can take `x`: float32 with whole groups of four channels and data. */
export function channelReducible(x: tf.TensorInfo): boolean {
  const c = x.shape[x.shape.length - 1];
  return x.dtype === 'float32' && c % 4 === 0 && x.shape.every((d) => d > 0);
}
