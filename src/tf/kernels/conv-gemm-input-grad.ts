/**
 * The input gradient of an NHWC conv2d on the WASM backend's matrix kernel (see conv-gemm.ts for
 * its two siblings), which is also every transposed convolution's forward pass: a stride-s
 * transposed convolution is split into s*s stride-1 output phases, each one gemm call over its
 * own filter taps (packed once per filter and phase) reading one shared padded copy of dy and
 * writing its rows straight into dx.
 */
import { tf } from '../tfjs.ts';
import { convInfo, ONE, type ConvOptions, type Pad, type Rounding } from './conv-gemm.ts';
import { NR } from './gemm-emit.ts';
import type { GemmKernel } from './gemm-wasm.ts';
import {
  cachedWeights,
  compactRows,
  copyWindow,
  packPhase,
  roundUp,
  rowTables,
  unravel,
  type Shape4,
} from './gemm-operands.ts';
import { gemmFor, heapF32, offsetOf, Scratch, type WasmBackendLike } from './wasm-backend.ts';

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

/** dy copied once into a zeroed [N, hd, wd, Co] buffer, shifted by (padT, padL), that every phase reads. */
interface PaddedDy {
  dyp: number;
  hd: number;
  wd: number;
  padT: number;
  padL: number;
}

/** The padded copy of dy [N,Ho,Wo,Co] covering what every phase reads (index m + t - before, shifted by padT/padL). */
function paddedDy(
  backend: WasmBackendLike,
  s: Scratch,
  dy: tf.TensorInfo,
  rowPlans: AxisPhase[],
  colPlans: AxisPhase[],
): PaddedDy {
  const [n, ho, wo, co] = dy.shape as Shape4;
  const padT = Math.max(0, ...rowPlans.map((r) => r.before));
  const padL = Math.max(0, ...colPlans.map((c) => c.before));
  const hd = Math.max(ho + padT, ...rowPlans.map((r) => r.count - 1 + r.taps - r.before + padT));
  const wd = Math.max(wo + padL, ...colPlans.map((c) => c.count - 1 + c.taps - c.before + padL));
  const dyp = s.alloc(n * hd * wd * co * 4);
  copyWindow(backend, offsetOf(backend, dy), dy.shape as Shape4, dyp, hd, wd, padT, padL);
  return { dyp, hd, wd, padT, padL };
}

/** What every phase of one input gradient shares. */
interface InputGradPass {
  backend: WasmBackendLike;
  s: Scratch;
  gemm: GemmKernel;
  w: tf.TensorInfo;
  dy: PaddedDy;
  /** dx's shape [N,H,W,Ci], dy's channels and the strides. */
  dims: { n: number; H: number; W: number; co: number; sh: number; sw: number };
  /** Floats per dx row as written (Ci rounded up to whole panels). */
  ld: number;
  /** Byte address of dx pixel `pixel` (flat over N,H,W) as written. */
  dxRow: (pixel: number) => number;
}

/** Writes the dx rows of output phase (a, pi): one gemm over its filter taps, or zeros when no tap reaches it. */
function inputGradPhase(c: InputGradPass, a: number, rp: AxisPhase, pi: number, cp: AxisPhase): void {
  const { backend, s, w, dy, ld } = c;
  const { n, H, W, co, sh, sw } = c.dims;
  const rows = n * rp.count * cp.count;
  if (rows === 0) return;
  const cRow = (m: number): number => {
    const [i, mm, l] = unravel(m, rp.count, cp.count);
    return c.dxRow((i * H + sh * mm + a) * W + sw * l + pi);
  };
  if (rp.taps === 0 || cp.taps === 0) {
    const heap = heapF32(backend);
    for (let m = 0; m < rows; m++) heap.fill(0, cRow(m) >> 2, (cRow(m) >> 2) + ld);
    return;
  }
  const kLen = rp.taps * cp.taps * co;
  const rowTaps = Array.from({ length: rp.taps }, (_, t) => rp.first - sh * t);
  const colTaps = Array.from({ length: cp.taps }, (_, u) => cp.first - sw * u);
  const bp = cachedWeights(backend, w, `phase ${rowTaps} ${colTaps}`, (alloc) =>
    packPhase(backend, alloc, offsetOf(backend, w), w.shape as Shape4, rowTaps, colTaps),
  );
  const tabs = rowTables(
    backend,
    s,
    rows,
    ld * 4,
    (m) => {
      const [i, mm, l] = unravel(m, rp.count, cp.count);
      return dy.dyp + ((i * dy.hd + mm - rp.before + dy.padT) * dy.wd + l - cp.before + dy.padL) * co * 4;
    },
    cRow,
  );
  c.gemm.run({
    ...tabs,
    panels: ld / NR,
    b: bp,
    panelStride: kLen * NR * 4,
    levels: [
      { n: rp.taps, aStep: dy.wd * co * 4, bStep: cp.taps * co * NR * 4 },
      ONE,
      { n: cp.taps * co, aStep: 4, bStep: NR * 4 },
    ],
    accumulate: false,
    bBytesPerPanelStep: cp.taps * co * NR * 4,
  });
}

/**
 * Input gradient of an NHWC conv2d (the forward pass of a transposed convolution):
 * dy [N,Ho,Wo,Co], w [fh,fw,Ci,Co] -> dx [N,H,W,Ci] (inputShape).
 */
export function conv2dInputGrad(
  backend: WasmBackendLike,
  dy: tf.TensorInfo,
  w: tf.TensorInfo,
  inputShape: Shape4,
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode?: Rounding,
  opts: ConvOptions = {},
): tf.TensorInfo {
  const info = convInfo(inputShape, w.shape as Shape4, strides, pad, dimRoundingMode);
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: ci, outChannels: co } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const rowPlans = Array.from({ length: sh }, (_, a) => axisPhase(a, sh, fh, info.padInfo.top, H));
  const colPlans = Array.from({ length: sw }, (_, b) => axisPhase(b, sw, fw, info.padInfo.left, W));
  const out = backend.makeOutput([n, H, W, ci], 'float32');
  const s = new Scratch(backend);
  try {
    const dyp = paddedDy(backend, s, dy, rowPlans, colPlans);
    const outBase = offsetOf(backend, out);
    const ld = roundUp(ci, NR);
    const direct = ld === ci;
    const full = direct ? 0 : s.alloc(n * H * W * ld * 4); // padded dx, compacted at the end
    const pass: InputGradPass = {
      backend,
      s,
      gemm: opts.gemm ?? gemmFor(backend),
      w,
      dy: dyp,
      dims: { n, H, W, co, sh, sw },
      ld,
      dxRow: (pixel) => (direct ? outBase + pixel * ci * 4 : full + pixel * ld * 4),
    };
    for (const [a, rp] of rowPlans.entries()) {
      for (const [pi, cp] of colPlans.entries()) inputGradPhase(pass, a, rp, pi, cp);
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
