/**
 * The matrix kernel's operands for the convolutions of conv-gemm.ts, laid out on the WASM
 * backend's heap: zero-padded copies of NHWC images, tables of row addresses (A's rows and C's
 * rows, padded to whole tiles), B packed into panels of NR columns (a filter, a phase's filter
 * taps, or dy), a gathered copy of x for small outputs, output rows padded to whole panels and
 * compacted after, and the cache of packed filters. Addresses are byte addresses on the heap.
 */
import { tf } from '../tfjs.ts';
import { PerFilterCache } from './filter-cache.ts';
import { MR, NR } from './gemm-emit.ts';
import { heapF32, heapI32, malloc, offsetOf, type Alloc, type Scratch, type WasmBackendLike } from './wasm-backend.ts';

export type Shape4 = [number, number, number, number];

export const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/**
 * Packed filters cached per filter tensor and layout (filter-cache.ts): a generator's weights are
 * packed once for all /shoe calls, and a training step packs each weight once although D's
 * convolutions run three times.
 */
const weightCache = new PerFilterCache<WasmBackendLike, number>((b, ptr) => b.wasm._free(ptr));

/** The packed copy of `filter` in `layout`, made by `pack` (given a heap allocator) on a miss. Returns its address. */
export function cachedWeights(
  b: WasmBackendLike,
  filter: tf.TensorInfo,
  layout: string,
  pack: (alloc: Alloc) => number,
): number {
  return weightCache.get(filter.dataId, b, layout, () => pack((bytes) => malloc(b, bytes)));
}

/** Frees every cached packed filter (tests). */
export function clearPackedWeights(): void {
  weightCache.clear();
}

/** Number of filter tensors with packed copies (tests). */
export function packedWeightCount(): number {
  return weightCache.size;
}

/**
 * Copies the NHWC image batch at `src` [n,h,w,c] into a zeroed [n,hd,wd,c] at `dst`, its pixel
 * (y,x) landing at (y+top, x+left); negative top/left crop. Addresses in bytes.
 */
export function copyWindow(
  b: WasmBackendLike,
  src: number,
  [n, h, w, c]: Shape4,
  dst: number,
  hd: number,
  wd: number,
  top: number,
  left: number,
): void {
  const heap = heapF32(b);
  const s0 = src >> 2;
  const d0 = dst >> 2;
  heap.fill(0, d0, d0 + n * hd * wd * c);
  const y0 = Math.max(0, -top);
  const y1 = Math.min(h, hd - top);
  const x0 = Math.max(0, -left);
  const x1 = Math.min(w, wd - left);
  if (y1 <= y0 || x1 <= x0) return;
  const len = (x1 - x0) * c;
  for (let i = 0; i < n; i++) {
    for (let y = y0; y < y1; y++) {
      const from = s0 + ((i * h + y) * w + x0) * c;
      heap.copyWithin(d0 + ((i * hd + y + top) * wd + x0 + left) * c, from, from + len);
    }
  }
}

/** m as (outer, middle, inner) indices of a [*, middle, inner] grid. */
export function unravel(m: number, middle: number, inner: number): [number, number, number] {
  return [Math.floor(m / (inner * middle)), Math.floor(m / inner) % middle, m % inner];
}

/** x copied into a zeroed [N, hp, wp, Ci] buffer covering exactly the rows and columns the convolution reads. */
export function paddedInput(b: WasmBackendLike, s: Scratch, x: tf.TensorInfo, info: tf.backend_util.Conv2DInfo) {
  const hp = (info.outHeight - 1) * info.strideHeight + info.filterHeight;
  const wp = (info.outWidth - 1) * info.strideWidth + info.filterWidth;
  const xp = s.alloc(info.batchSize * hp * wp * info.inChannels * 4);
  copyWindow(b, offsetOf(b, x), x.shape as Shape4, xp, hp, wp, info.padInfo.top, info.padInfo.left);
  return { xp, hp, wp };
}

/**
 * Row tables for `rows` rows (addresses from `aRow`/`cRow`), padded to whole tiles: padding rows
 * read row 0 and write into a scratch row. Returns the two table addresses and the tile count.
 */
export function rowTables(
  b: WasmBackendLike,
  s: Scratch,
  rows: number,
  cBytesPerRow: number,
  aRow: (m: number) => number,
  cRow: (m: number) => number,
) {
  const tiles = Math.ceil(rows / MR);
  const tabA = s.alloc(tiles * MR * 4);
  const tabC = s.alloc(tiles * MR * 4);
  const spare = tiles * MR > rows ? s.alloc(cBytesPerRow) : 0;
  const t = heapI32(b);
  for (let m = 0; m < tiles * MR; m++) {
    t[(tabA >> 2) + m] = m < rows ? aRow(m) : aRow(0);
    t[(tabC >> 2) + m] = m < rows ? cRow(m) : spare;
  }
  return { tabA, tabC, tiles };
}

/**
 * Packs the row-major [K, cols] matrix at heap address `src` into panels of NR columns
 * ([panel][K][NR], zero beyond `cols`), the layout gemm's B operand reads. Returns its address.
 */
export function packPanels(b: WasmBackendLike, alloc: Alloc, src: number, kLen: number, cols: number): number {
  const panels = Math.ceil(cols / NR);
  const ptr = alloc(panels * kLen * NR * 4);
  const heap = heapF32(b); // after alloc: the heap may have grown
  const s0 = src >> 2;
  let o = ptr >> 2;
  for (let p = 0; p < panels; p++) {
    const c0 = p * NR;
    const width = Math.min(NR, cols - c0);
    for (let k = 0; k < kLen; k++) {
      const row = s0 + k * cols + c0;
      for (let j = 0; j < width; j++) heap[o + j] = heap[row + j];
      for (let j = width; j < NR; j++) heap[o + j] = 0;
      o += NR;
    }
  }
  return ptr;
}

/**
 * Packs one output phase's filter taps for the input gradient: B[(t, u, o), c] =
 * W[rowTap(t), colTap(u), c, o] of w [fh,fw,Ci,Co] at heap address `w`, in panels over c.
 */
export function packPhase(
  b: WasmBackendLike,
  alloc: Alloc,
  w: number,
  [, fw, ci, co]: Shape4,
  rowTaps: number[],
  colTaps: number[],
): number {
  const panels = Math.ceil(ci / NR);
  const kLen = rowTaps.length * colTaps.length * co;
  const ptr = alloc(panels * kLen * NR * 4);
  const heap = heapF32(b);
  const w0 = w >> 2;
  let o = ptr >> 2;
  for (let p = 0; p < panels; p++) {
    const c0 = p * NR;
    const width = Math.min(NR, ci - c0);
    for (const i of rowTaps) {
      for (const j of colTaps) {
        const tap = w0 + (i * fw + j) * ci * co;
        for (let oc = 0; oc < co; oc++) {
          for (let jj = 0; jj < width; jj++) heap[o + jj] = heap[tap + (c0 + jj) * co + oc];
          for (let jj = width; jj < NR; jj++) heap[o + jj] = 0;
          o += NR;
        }
      }
    }
  }
  return ptr;
}

/**
 * The padded input `xp` [N,hp,wp,Ci] as the matrix [(i,j,c), pixel]: row (i,j,c) holds
 * xp[n, sh*p + i, sw*q + j, c] for every output pixel (n,p,q) in order. Returns its address.
 */
export function transposedIm2col(
  b: WasmBackendLike,
  s: Scratch,
  xp: number,
  hp: number,
  wp: number,
  info: tf.backend_util.Conv2DInfo,
): number {
  const {
    batchSize: n,
    inChannels: ci,
    outHeight: ho,
    outWidth: wo,
    strideHeight: sh,
    strideWidth: sw,
    filterHeight: fh,
    filterWidth: fw,
  } = info;
  const pixels = n * ho * wo;
  const out = s.alloc(fh * fw * ci * pixels * 4);
  const heap = heapF32(b);
  const x0 = xp >> 2;
  const o0 = out >> 2;
  let k = 0;
  for (let i0 = 0; i0 < n; i0++) {
    for (let p = 0; p < ho; p++) {
      for (let q = 0; q < wo; q++, k++) {
        const pix = x0 + ((i0 * hp + sh * p) * wp + sw * q) * ci;
        for (let i = 0; i < fh; i++) {
          for (let j = 0; j < fw; j++) {
            const src = pix + (i * wp + j) * ci;
            let dst = o0 + (i * fw + j) * ci * pixels + k;
            for (let c = 0; c < ci; c++, dst += pixels) heap[dst] = heap[src + c];
          }
        }
      }
    }
  }
  return out;
}

/** Copies the first `width` of every `ld` floats per row from `src` to dense rows at `dst` (byte addresses). */
export function compactRows(
  heap: Float32Array,
  src: number,
  dst: number,
  rows: number,
  ld: number,
  width: number,
): void {
  // Element copies: one copyWithin call per 3-float row made the generator's last layer 29.6 ms instead of 11.
  let from = src >> 2;
  let to = dst >> 2;
  for (let m = 0; m < rows; m++, from += ld) for (let j = 0; j < width; j++) heap[to++] = heap[from + j];
}

/**
 * Where the output rows go: straight into `out` when its channel count is a whole number of
 * panels, else into a padded scratch matrix that finish() compacts into `out`.
 */
export function outputRows(b: WasmBackendLike, s: Scratch, out: number, rows: number, channels: number) {
  const ld = roundUp(channels, NR);
  if (ld === channels) return { base: out, ld, finish: () => {} };
  const base = s.alloc(rows * ld * 4);
  return {
    base,
    ld,
    finish: () => {
      const heap = heapF32(b);
      compactRows(heap, base, out, rows, ld, channels);
    },
  };
}
