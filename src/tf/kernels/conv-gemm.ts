/**
 * The three convolutions of a training step on the WASM backend, each as one call of shoebot's
 * matrix kernel (gemm-wasm.ts) working in place on the backend's heap (NHWC, dilation 1):
 * - conv2dForward     x [N,H,W,Ci] * w [fh,fw,Ci,Co] -> y [N,Ho,Wo,Co]
 * - conv2dInputGrad   dy [N,Ho,Wo,Co], w -> dx [N,H,W,Ci] (also every transposed convolution's
 *                     forward pass), split into stride-1 phases written straight into dx: in
 *                     conv-gemm-input-grad.ts
 * - conv2dFilterGrad  x, dy -> dw [fh,fw,Ci,Co], reduced over the batch's pixels in place
 * Inputs are TensorInfos of the WASM backend; each function returns a new TensorInfo made with the
 * backend's makeOutput, and frees every scratch buffer it allocated. The operands' layouts on the
 * heap are made by gemm-operands.ts; these modules say how each convolution walks them.
 */
import { tf } from '../tfjs.ts';
import { NR } from './gemm-emit.ts';
import type { GemmKernel, Level } from './gemm-wasm.ts';
import {
  cachedWeights,
  outputRows,
  packPanels,
  paddedInput,
  rowTables,
  transposedIm2col,
  unravel,
  type Shape4,
} from './gemm-operands.ts';
import { gemmFor, offsetOf, Scratch, type WasmBackendLike } from './wasm-backend.ts';

/** A convolution's padding and output-size rounding, as tfjs's conv attributes give them. */
export type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
export type Rounding = 'floor' | 'round' | 'ceil' | undefined;

/** An unused reduction level. */
export const ONE: Level = { n: 1, aStep: 0, bStep: 0 };

/** Test hooks: another kernel instance (flavour, blocking) and the filter gradient's chunk size. */
export interface ConvOptions {
  gemm?: GemmKernel;
  chunkBytes?: number;
}

/** tfjs's geometry of a dilation-1, channels-last convolution: what every kernel here is given. */
export function convInfo(
  inputShape: Shape4,
  filterShape: Shape4,
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode?: Rounding,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    inputShape,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
}

/** Forward NHWC convolution (dilation 1): x [N,H,W,Ci], w [fh,fw,Ci,Co] -> [N,Ho,Wo,Co]. */
export function conv2dForward(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  w: tf.TensorInfo,
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode?: Rounding,
  opts: ConvOptions = {},
): tf.TensorInfo {
  const info = convInfo(x.shape as Shape4, w.shape as Shape4, strides, pad, dimRoundingMode);
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

/** Output pixels per image up to which the filter gradient gathers x first (transposedIm2col). */
const SMALL_OUTPUT_PIXELS = 16;
/** Largest gathered copy of x it makes. */
const SMALL_IM2COL_BYTES = 32 * 1024 * 1024;

/** Bytes of x (padded) and dy one call reduces over: a chunk of images that stays in L2. */
const FILTER_GRAD_CHUNK_BYTES = 768 * 1024;

/** What both ways of computing one filter gradient share. */
interface FilterGradPass {
  backend: WasmBackendLike;
  s: Scratch;
  gemm: GemmKernel;
  info: tf.backend_util.Conv2DInfo;
  /** The padded input [N,hp,wp,Ci]. */
  x: { xp: number; hp: number; wp: number };
  /** dy packed in panels of NR channels ([panel][pixel][NR]). */
  dyPanels: number;
  /** Where dw's rows (i, j, c) go and their stride in floats. */
  dst: { base: number; ld: number };
}

/**
 * Few output pixels per image, many channels (the 8x8 -> 4x4 layers: 77.7 vs 100.6 ms at batch 32,
 * ngf 64; at 8x8 output the in-place path wins): a tile's rows of x are too scattered to stay in
 * L1, so they are gathered once into rows of contiguous pixels and reduced in one call.
 */
function filterGradGathered(c: FilterGradPass): void {
  const { backend, s, info, dst } = c;
  const { batchSize: n, outHeight: ho, outWidth: wo } = info;
  const rows = info.filterHeight * info.filterWidth * info.inChannels;
  const pixels = n * ho * wo;
  const xt = transposedIm2col(backend, s, c.x.xp, c.x.hp, c.x.wp, info);
  const tabs = rowTables(
    backend,
    s,
    rows,
    dst.ld * 4,
    (m) => xt + m * pixels * 4,
    (m) => dst.base + m * dst.ld * 4,
  );
  c.gemm.run({
    ...tabs,
    panels: dst.ld / NR,
    b: c.dyPanels,
    panelStride: pixels * NR * 4,
    levels: [{ n, aStep: ho * wo * 4, bStep: ho * wo * NR * 4 }, ONE, { n: ho * wo, aStep: 4, bStep: NR * 4 }],
    accumulate: false,
    bBytesPerPanelStep: ho * wo * NR * 4,
  });
}

/** Reads the padded x in place, a chunk of images (`chunkBytes` of x and dy) per call, adding up the chunks. */
function filterGradInPlace(c: FilterGradPass, chunkBytes: number): void {
  const { backend, s, info, dst } = c;
  const { batchSize: n, inChannels: ci, outChannels: co, outHeight: ho, outWidth: wo } = info;
  const { strideHeight: sh, strideWidth: sw, filterWidth: fw } = info;
  const { xp, hp, wp } = c.x;
  const rows = info.filterHeight * fw * ci;
  const pixels = n * ho * wo;
  const perChunk = Math.max(1, Math.floor(chunkBytes / ((hp * wp * ci + ho * wo * co) * 4)));
  for (let n0 = 0; n0 < n; n0 += perChunk) {
    const images = Math.min(perChunk, n - n0);
    const tabs = rowTables(
      backend,
      s,
      rows,
      dst.ld * 4,
      (m) => {
        const [i, j, ch] = unravel(m, fw, ci);
        return xp + (((n0 * hp + i) * wp + j) * ci + ch) * 4;
      },
      (m) => dst.base + m * dst.ld * 4,
    );
    c.gemm.run({
      ...tabs,
      panels: dst.ld / NR,
      b: c.dyPanels + n0 * ho * wo * NR * 4,
      panelStride: pixels * NR * 4,
      levels: [
        { n: images, aStep: hp * wp * ci * 4, bStep: ho * wo * NR * 4 },
        { n: ho, aStep: sh * wp * ci * 4, bStep: wo * NR * 4 },
        { n: wo, aStep: sw * ci * 4, bStep: NR * 4 },
      ],
      accumulate: n0 > 0,
    });
  }
}

/**
 * Filter gradient of an NHWC conv2d (dilation 1): x [N,H,W,Ci], dy [N,Ho,Wo,Co] -> dw [fh,fw,Ci,Co].
 * Rows of the product are the filter's (i, j, c) entries, columns its output channels, and the
 * reduction runs over the batch's output pixels, reading x (padded) and dy in place.
 */
export function conv2dFilterGrad(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  filterShape: Shape4,
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode?: Rounding,
  opts: ConvOptions = {},
): tf.TensorInfo {
  const info = convInfo(x.shape as Shape4, filterShape, strides, pad, dimRoundingMode);
  const {
    batchSize: n,
    inChannels: ci,
    outChannels: co,
    outHeight: ho,
    outWidth: wo,
    filterHeight: fh,
    filterWidth: fw,
  } = info;
  const out = backend.makeOutput(filterShape, 'float32');
  const s = new Scratch(backend);
  try {
    const xPadded = paddedInput(backend, s, x, info);
    // dy in panels of NR channels ([panel][pixel][NR]): each tile then streams B sequentially.
    const pixels = n * ho * wo;
    const dyPanels = packPanels(backend, (bytes) => s.alloc(bytes), offsetOf(backend, dy), pixels, co);
    const rows = fh * fw * ci;
    const dst = outputRows(backend, s, offsetOf(backend, out), rows, co);
    const pass: FilterGradPass = { backend, s, gemm: opts.gemm ?? gemmFor(backend), info, x: xPadded, dyPanels, dst };
    if (ho * wo <= SMALL_OUTPUT_PIXELS && rows * pixels * 4 <= SMALL_IM2COL_BYTES) filterGradGathered(pass);
    else filterGradInPlace(pass, opts.chunkBytes ?? FILTER_GRAD_CHUNK_BYTES);
    dst.finish();
  } finally {
    s.free();
  }
  return out;
}
