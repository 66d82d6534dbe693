/**
 * The three convolutions of a training step on the WASM backend, each as one call of shoebot's
 * matrix kernel (gemm-wasm.ts) working in place on the backend's heap (NHWC, dilation 1):
 * - conv2dForward     x [N,H,W,Ci] * w [fh,fw,Ci,Co] -> y [N,Ho,Wo,Co]
 * - conv2dInputGrad   dy [N,Ho,Wo,Co], w -> dx [N,H,W,Ci] (also every transposed convolution's
 *                     forward pass), split into stride-1 phases written straight into dx
 * - conv2dFilterGrad  x, dy -> dw [fh,fw,Ci,Co], reduced over the batch's pixels in place
 * Inputs are TensorInfos of the WASM backend; each function returns a new TensorInfo made with the
 * backend's makeOutput, and frees every scratch buffer it allocated.
 */
import { tf } from '../tfjs.ts';
import { PerFilterCache } from './filter-cache.ts';
import { MR, NR, createGemmKernel, type GemmKernel, type Level, type WasmMemory } from './gemm-wasm.ts';

/** The parts of tfjs-backend-wasm's BackendWasm used here. */
export interface WasmBackendLike {
  wasm: { _malloc(bytes: number): number; _free(ptr: number): void; asm: { memory: WasmMemory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type Shape4 = [number, number, number, number];

const ONE: Level = { n: 1, aStep: 0, bStep: 0 };

/** Test hooks: another kernel instance (flavour, blocking) and the filter gradient's chunk size. */
export interface ConvOptions {
  gemm?: GemmKernel;
  chunkBytes?: number;
}
const kernels = new WeakMap<WasmMemory, GemmKernel>();

/** The matrix kernel on this backend's heap (one instance per heap, i.e. per thread). */
export function gemmFor(backend: WasmBackendLike): GemmKernel {
  const memory = backend.wasm.asm.memory;
  let k = kernels.get(memory);
  if (!k) {
    k = createGemmKernel(memory, { prefer: process.env.SHOEBOT_GEMM === 'simd' ? 'simd' : undefined });
    kernels.set(memory, k);
  }
  return k;
}

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/** Scratch allocations of one kernel call, freed together. */
class Scratch {
  private ptrs: number[] = [];
  constructor(private readonly backend: WasmBackendLike) {}
  /** `bytes` of heap, freed by free() (see malloc). */
  alloc(bytes: number): number {
    const p = malloc(this.backend, bytes);
    this.ptrs.push(p);
    return p;
  }
  free(): void {
    for (const p of this.ptrs) this.backend.wasm._free(p);
    this.ptrs = [];
  }
}

type Alloc = (bytes: number) => number;

/** `bytes` of the backend's heap (views of the heap must be re-made after: it may have grown). */
function malloc(b: WasmBackendLike, bytes: number): number {
  const p = b.wasm._malloc(Math.max(16, bytes)) >>> 0;
  if (p === 0) throw new Error(`out of WASM memory allocating ${bytes} bytes`);
  return p;
}

/**
 * Packed filters cached per filter tensor and layout (filter-cache.ts): a generator's weights are
 * packed once for all /shoe calls, and a training step packs each weight once although D's
 * convolutions run three times.
 */
const weightCache = new PerFilterCache<WasmBackendLike, number>((b, ptr) => b.wasm._free(ptr));

function cachedWeights(b: WasmBackendLike, filter: tf.TensorInfo, layout: string, pack: (alloc: Alloc) => number): number {
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

const heapF32 = (b: WasmBackendLike): Float32Array => new Float32Array(b.wasm.asm.memory.buffer);
const heapI32 = (b: WasmBackendLike): Int32Array => new Int32Array(b.wasm.asm.memory.buffer);
/** Byte address of a tensor's data on the backend's heap. */
export function offsetOf(b: WasmBackendLike, t: tf.TensorInfo): number {
  const d = b.dataIdMap.get(t.dataId);
  if (!d) throw new Error('tensor data is not on this backend');
  return d.memoryOffset;
}

/**
 * Copies the NHWC image batch at `src` [n,h,w,c] into a zeroed [n,hd,wd,c] at `dst`, its pixel
 * (y,x) landing at (y+top, x+left); negative top/left crop. Addresses in bytes.
 */
function copyWindow(b: WasmBackendLike, src: number, [n, h, w, c]: Shape4, dst: number, hd: number, wd: number, top: number, left: number): void {
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
function unravel(m: number, middle: number, inner: number): [number, number, number] {
  return [Math.floor(m / (inner * middle)), Math.floor(m / inner) % middle, m % inner];
}

/** x copied into a zeroed [N, hp, wp, Ci] buffer covering exactly the rows and columns the convolution reads. */
function paddedInput(b: WasmBackendLike, s: Scratch, x: tf.TensorInfo, info: tf.backend_util.Conv2DInfo) {
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
function rowTables(b: WasmBackendLike, s: Scratch, rows: number, cBytesPerRow: number, aRow: (m: number) => number, cRow: (m: number) => number) {
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
function packPanels(b: WasmBackendLike, alloc: Alloc, src: number, kLen: number, cols: number): number {
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
function packPhase(b: WasmBackendLike, alloc: Alloc, w: number, [, fw, ci, co]: Shape4, rowTaps: number[], colTaps: number[]): number {
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

/** Copies the first `width` of every `ld` floats per row from `src` to dense rows at `dst` (byte addresses). */
function compactRows(heap: Float32Array, src: number, dst: number, rows: number, ld: number, width: number): void {
  // Element copies: one copyWithin call per 3-float row made the generator's last layer 29.6 ms instead of 11.
  let from = src >> 2;
  let to = dst >> 2;
  for (let m = 0; m < rows; m++, from += ld) for (let j = 0; j < width; j++) heap[to++] = heap[from + j];
}

/**
 * Where the output rows go: straight into `out` when its channel count is a whole number of
 * panels, else into a padded scratch matrix that finish() compacts into `out`.
 */
function outputRows(b: WasmBackendLike, s: Scratch, out: number, rows: number, channels: number) {
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

/** Forward NHWC convolution (dilation 1): x [N,H,W,Ci], w [fh,fw,Ci,Co] -> [N,Ho,Wo,Co]. */
export function conv2dForward(backend: WasmBackendLike, x: tf.TensorInfo, w: tf.TensorInfo, strides: number | [number, number], pad: Pad, dimRoundingMode?: Rounding, opts: ConvOptions = {}): tf.TensorInfo {
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, w.shape as Shape4, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize: n, inChannels: ci, outChannels: co, outHeight: ho, outWidth: wo } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const out = backend.makeOutput([n, ho, wo, co], 'float32');
  const s = new Scratch(backend);
  try {
    const { xp, hp, wp } = paddedInput(backend, s, x, info);
    const k = fh * fw * ci;
    const bp = cachedWeights(backend, w, 'forward', (alloc) => packPanels(backend, alloc, offsetOf(backend, w), k, co));
    const rows = n * ho * wo;
    const dst = outputRows(backend, s, offsetOf(backend, out), rows, co);
    const t = rowTables(
      backend,
      s,
      rows,
      dst.ld * 4,
      (m) => {
        const [i, p, q] = unravel(m, ho, wo);
        return xp + ((i * hp + p * sh) * wp + q * sw) * ci * 4;
      },
      (m) => dst.base + m * dst.ld * 4,
    );
    (opts.gemm ?? gemmFor(backend)).run({
      ...t,
      panels: dst.ld / NR,
      b: bp,
      panelStride: k * NR * 4,
      levels: [{ n: fh, aStep: wp * ci * 4, bStep: fw * ci * NR * 4 }, ONE, { n: fw * ci, aStep: 4, bStep: NR * 4 }],
      accumulate: false,
      bBytesPerPanelStep: fw * ci * NR * 4,
    });
    dst.finish();
  } finally {
    s.free();
  }
  return out;
}

/** Where one output phase of a strided transposed convolution reads its input, along one axis. */
interface AxisPhase {
  /** Filter taps this phase uses (0: the phase gets no contribution). */
  taps: number;
  /** Original filter index of tap t: first - stride * t. */
  first: number;
  /** Input index read by phase position m and tap t: m + t - before. */
  before: number;
  /** Phase positions inside the output (y = stride*m + phase < length). */
  count: number;
}

/**
 * Output y = s*m + a receives dy[p] * W[i] for s*p + i = y + padBefore. With
 * a + padBefore = s*d + r the taps are i = r + s*k for p = m + d - k; numbered
 * t = taps-1-k so the input index rises with t: p = m + t - (taps-1-d).
 */
function axisPhase(a: number, s: number, f: number, padBefore: number, outLen: number): AxisPhase {
  const d = Math.floor((a + padBefore) / s);
  const r = (a + padBefore) % s;
  const taps = r < f ? Math.ceil((f - r) / s) : 0;
  return { taps, first: r + s * (taps - 1), before: taps - 1 - d, count: Math.max(0, Math.ceil((outLen - a) / s)) };
}

/**
 * Input gradient of an NHWC conv2d (the forward pass of a transposed convolution):
 * dy [N,Ho,Wo,Co], w [fh,fw,Ci,Co] -> dx [N,H,W,Ci] (inputShape).
 */
export function conv2dInputGrad(backend: WasmBackendLike, dy: tf.TensorInfo, w: tf.TensorInfo, inputShape: Shape4, strides: number | [number, number], pad: Pad, dimRoundingMode?: Rounding, opts: ConvOptions = {}): tf.TensorInfo {
  const info = tf.backend_util.computeConv2DInfo(inputShape, w.shape as Shape4, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: ci, outChannels: co, outHeight: ho, outWidth: wo } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const rowPlans = Array.from({ length: sh }, (_, a) => axisPhase(a, sh, fh, info.padInfo.top, H));
  const colPlans = Array.from({ length: sw }, (_, b) => axisPhase(b, sw, fw, info.padInfo.left, W));
  const out = backend.makeOutput([n, H, W, ci], 'float32');
  const s = new Scratch(backend);
  try {
    // One padded copy of dy serves every phase: index m + t - before, shifted by padT/padL.
    const padT = Math.max(0, ...rowPlans.map((r) => r.before));
    const padL = Math.max(0, ...colPlans.map((c) => c.before));
    const hd = Math.max(ho + padT, ...rowPlans.map((r) => r.count - 1 + r.taps - r.before + padT));
    const wd = Math.max(wo + padL, ...colPlans.map((c) => c.count - 1 + c.taps - c.before + padL));
    const dyp = s.alloc(n * hd * wd * co * 4);
    copyWindow(backend, offsetOf(backend, dy), dy.shape as Shape4, dyp, hd, wd, padT, padL);
    const outBase = offsetOf(backend, out);
    const ld = roundUp(ci, NR);
    const direct = ld === ci;
    const full = direct ? 0 : s.alloc(n * H * W * ld * 4); // padded dx, compacted at the end
    const gemm = opts.gemm ?? gemmFor(backend);
    for (const [a, rp] of rowPlans.entries()) {
      for (const [pi, cp] of colPlans.entries()) {
        const rows = n * rp.count * cp.count;
        if (rows === 0) continue;
        const cRow = (m: number): number => {
          const [i, mm, l] = unravel(m, rp.count, cp.count);
          const pixel = (i * H + sh * mm + a) * W + sw * l + pi;
          return direct ? outBase + pixel * ci * 4 : full + pixel * ld * 4;
        };
        if (rp.taps === 0 || cp.taps === 0) {
          const heap = heapF32(backend);
          for (let m = 0; m < rows; m++) heap.fill(0, cRow(m) >> 2, (cRow(m) >> 2) + ld);
          continue;
        }
        const kLen = rp.taps * cp.taps * co;
        const rowTaps = Array.from({ length: rp.taps }, (_, t) => rp.first - sh * t);
        const colTaps = Array.from({ length: cp.taps }, (_, u) => cp.first - sw * u);
        const bp = cachedWeights(backend, w, `phase ${rowTaps} ${colTaps}`, (alloc) => packPhase(backend, alloc, offsetOf(backend, w), w.shape as Shape4, rowTaps, colTaps));
        const tabs = rowTables(
          backend,
          s,
          rows,
          ld * 4,
          (m) => {
            const [i, mm, l] = unravel(m, rp.count, cp.count);
            return dyp + ((i * hd + mm - rp.before + padT) * wd + l - cp.before + padL) * co * 4;
          },
          cRow,
        );
        gemm.run({
          ...tabs,
          panels: ld / NR,
          b: bp,
          panelStride: kLen * NR * 4,
          levels: [{ n: rp.taps, aStep: wd * co * 4, bStep: cp.taps * co * NR * 4 }, ONE, { n: cp.taps * co, aStep: 4, bStep: NR * 4 }],
          accumulate: false,
          bBytesPerPanelStep: cp.taps * co * NR * 4,
        });
      }
    }
    if (!direct) {
      const heap = heapF32(backend);
      compactRows(heap, full, outBase, n * H * W, ld, ci);
    }
  } finally {
    s.free();
  }
  return out;
}

/** Output pixels per image up to which the filter gradient gathers x first (transposedIm2col). */
const SMALL_OUTPUT_PIXELS = 16;
/** Largest gathered copy of x it makes. */
const SMALL_IM2COL_BYTES = 32 * 1024 * 1024;

/**
 * The padded input `xp` [N,hp,wp,Ci] as the matrix [(i,j,c), pixel]: row (i,j,c) holds
 * xp[n, sh*p + i, sw*q + j, c] for every output pixel (n,p,q) in order. Returns its address.
 */
function transposedIm2col(b: WasmBackendLike, s: Scratch, xp: number, hp: number, wp: number, info: tf.backend_util.Conv2DInfo): number {
  const { batchSize: n, inChannels: ci, outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
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

/** Bytes of x (padded) and dy one call reduces over: a chunk of images that stays in L2. */
const FILTER_GRAD_CHUNK_BYTES = 768 * 1024;

/**
 * Filter gradient of an NHWC conv2d (dilation 1): x [N,H,W,Ci], dy [N,Ho,Wo,Co] -> dw [fh,fw,Ci,Co].
 * Rows of the product are the filter's (i, j, c) entries, columns its output channels, and the
 * reduction runs over the batch's output pixels, reading x (padded) and dy in place.
 */
export function conv2dFilterGrad(backend: WasmBackendLike, x: tf.TensorInfo, dy: tf.TensorInfo, filterShape: Shape4, strides: number | [number, number], pad: Pad, dimRoundingMode?: Rounding, opts: ConvOptions = {}): tf.TensorInfo {
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize: n, inChannels: ci, outChannels: co, outHeight: ho, outWidth: wo } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const out = backend.makeOutput(filterShape, 'float32');
  const s = new Scratch(backend);
  try {
    const { xp, hp, wp } = paddedInput(backend, s, x, info);
    // dy in panels of NR channels ([panel][pixel][NR]): each tile then streams B sequentially.
    const pixels = n * ho * wo;
    const dyPanels = packPanels(backend, (bytes) => s.alloc(bytes), offsetOf(backend, dy), pixels, co);
    const dst = outputRows(backend, s, offsetOf(backend, out), fh * fw * ci, co);
    const rows = fh * fw * ci;
    const gemm = opts.gemm ?? gemmFor(backend);
    if (ho * wo <= SMALL_OUTPUT_PIXELS && rows * pixels * 4 <= SMALL_IM2COL_BYTES) {
      // Few output pixels per image, many channels (the 8x8 -> 4x4 layers: 77.7 vs 100.6 ms at batch 32, ngf 64; at 8x8 output the in-place path wins): a tile's rows of x are
      // too scattered to stay in L1, so gather them once into rows of contiguous pixels.
      const xt = transposedIm2col(backend, s, xp, hp, wp, info);
      const tabs = rowTables(backend, s, rows, dst.ld * 4, (m) => xt + m * pixels * 4, (m) => dst.base + m * dst.ld * 4);
      gemm.run({
        ...tabs,
        panels: dst.ld / NR,
        b: dyPanels,
        panelStride: pixels * NR * 4,
        levels: [{ n, aStep: ho * wo * 4, bStep: ho * wo * NR * 4 }, ONE, { n: ho * wo, aStep: 4, bStep: NR * 4 }],
        accumulate: false,
        bBytesPerPanelStep: ho * wo * NR * 4,
      });
      dst.finish();
      return out;
    }
    const perChunk = Math.max(1, Math.floor((opts.chunkBytes ?? FILTER_GRAD_CHUNK_BYTES) / ((hp * wp * ci + ho * wo * co) * 4)));
    for (let n0 = 0; n0 < n; n0 += perChunk) {
      const images = Math.min(perChunk, n - n0);
      const tabs = rowTables(
        backend,
        s,
        rows,
        dst.ld * 4,
        (m) => {
          const [i, j, c] = unravel(m, fw, ci);
          return xp + (((n0 * hp + i) * wp + j) * ci + c) * 4;
        },
        (m) => dst.base + m * dst.ld * 4,
      );
      gemm.run({
        ...tabs,
        panels: dst.ld / NR,
        b: dyPanels + n0 * ho * wo * NR * 4,
        panelStride: pixels * NR * 4,
        levels: [
          { n: images, aStep: hp * wp * ci * 4, bStep: ho * wo * NR * 4 },
          { n: ho, aStep: sh * wp * ci * 4, bStep: wo * NR * 4 },
          { n: wo, aStep: sw * ci * 4, bStep: NR * 4 },
        ],
        accumulate: n0 > 0,
      });
    }
    dst.finish();
  } finally {
    s.free();
  }
  return out;
}
