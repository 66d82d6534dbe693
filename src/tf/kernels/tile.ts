/**
 * Tile with block copies. tfjs-core's batch-norm gradient tiles the
 * per-channel scale to the whole activation ([1,1,1,C] -> [N,H,W,C]); the
 * WASM Tile kernel does that one element at a time with index arithmetic
 * (~100 ms per call at DCGAN sizes). Here each level copies its finished
 * block with copyWithin, so the cost is a few memcpy passes.
 */

type NumericArray = Float32Array | Int32Array | Uint8Array;

/** Tiles `src` (row-major, `shape`) by `reps` into a new array of the same type. */
export function tileArray<T extends NumericArray>(src: T, shape: readonly number[], reps: readonly number[]): T {
  const rank = shape.length;
  const outShape = shape.map((d, i) => d * reps[i]);
  const outStrides = new Array<number>(rank);
  const inStrides = new Array<number>(rank);
  let o = 1;
  let s = 1;
  for (let d = rank - 1; d >= 0; d--) {
    outStrides[d] = o;
    inStrides[d] = s;
    o *= outShape[d];
    s *= shape[d];
  }
  const dst = new (src.constructor as { new (n: number): T })(o);
  if (o === 0) return dst;
  if (rank === 0) {
    dst[0] = src[0];
    return dst;
  }
  // Writes the output block of dims d.. for input offset `si` at output offset `di`.
  const fill = (d: number, si: number, di: number): void => {
    const n = shape[d];
    if (d === rank - 1) {
      dst.set(src.subarray(si, si + n), di);
    } else {
      for (let i = 0; i < n; i++) fill(d + 1, si + i * inStrides[d], di + i * outStrides[d]);
    }
    const len = n * outStrides[d];
    for (let r = 1; r < reps[d]; r++) dst.copyWithin(di + r * len, di, di + len);
  };
  fill(0, 0, 0);
  return dst;
}
