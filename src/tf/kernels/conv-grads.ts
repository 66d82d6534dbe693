/**
 * Convolution gradients rewritten as forward convolutions / matrix products,
 * which the WASM backend runs through XNNPACK (fast) instead of its naive C++
 * loops, and which give the WASM backend the Conv2DBackpropFilter kernel it
 * lacks (tfjs#8474). Only NHWC (channelsLast) is handled here; callers fall
 * back to the stock kernels otherwise.
 *
 * These functions run *inside* a kernel (the engine has turned the gradient
 * tape off there), so they may freely use tf ops; each one is tidy and
 * returns a single new tensor. The filters the input gradient's phases run
 * with are prepared and cached by phase-filters.ts.
 */
import { tf } from '../tfjs.ts';
import {
  axisPhase,
  buildCombinedFilter,
  buildPhaseFilters,
  buildTransposedMatrix,
  cachedPhaseFilters,
  combinedWindow,
  type AxisPhase,
  type RawFilter,
} from './phase-filters.ts';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type Shape4 = [number, number, number, number];

/**
 * Padding (non-negative) or cropping (negative) of axis 1 and 2 of an NHWC tensor, split in two:
 * `x` cropped where a side is negative, and the explicit padding of the other sides (zero for the
 * cropped ones) for tf.pad or a convolution's own padding.
 */
function cropAndPads(
  x: tf.Tensor4D,
  top: number,
  bottom: number,
  left: number,
  right: number,
): { cropped: tf.Tensor4D; pads: tf.backend_util.ExplicitPadding } {
  const [n, h, w, c] = x.shape;
  const cropT = Math.max(0, -top);
  const cropB = Math.max(0, -bottom);
  const cropL = Math.max(0, -left);
  const cropR = Math.max(0, -right);
  const cropped =
    cropT || cropB || cropL || cropR
      ? tf.slice(x, [0, cropT, cropL, 0], [n, h - cropT - cropB, w - cropL - cropR, c])
      : x;
  const pads: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [Math.max(0, top), Math.max(0, bottom)],
    [Math.max(0, left), Math.max(0, right)],
    [0, 0],
  ];
  return { cropped, pads };
}

/** Pads (non-negative) or crops (negative) axis 1 and 2 of an NHWC tensor. */
function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  const { cropped, pads } = cropAndPads(x, top, bottom, left, right);
  return top > 0 || bottom > 0 || left > 0 || right > 0 ? tf.pad(cropped, pads) : cropped;
}

/**
 * Filter gradient of an NHWC conv2d (dilation 1): x [N,H,W,Ci], dy [N,Ho,Wo,Co]
 * -> dW [fh,fw,Ci,Co].
 *
 * dW[i,j,c,o] = sum_{n,p,q} xpad[n, p*s+i, q*s+j, c] * dy[n,p,q,o] is itself a
 * convolution: batch and channel axes of x swapped ([Ci,H,W,N]), dy used as
 * the filter ([Ho,Wo,N,Co]), dilation = stride, stride 1, 'valid'.
 */
export function conv2dFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: Shape4,
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode?: Rounding,
): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(
    x.shape,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw, outHeight: ho, outWidth: wo } = info;
  return tf.tidy(() => {
    // Exactly the rows/cols the forward conv touched: (ho-1)*s + f starting at -padTop.
    const needH = (ho - 1) * sh + fh;
    const needW = (wo - 1) * sw + fw;
    const { top, left } = info.padInfo;
    const xp = padOrCrop(x, top, needH - x.shape[1] - top, left, needW - x.shape[2] - left);
    if (ho === 1 && wo === 1) {
      // One output position (e.g. the discriminator's last 4x4 'valid' conv):
      // a single matrix product, [fh*fw*Ci, N] x [N, Co].
      const n = x.shape[0];
      const xm = tf.reshape(xp, [n, fh * fw * info.inChannels]);
      const dym = tf.reshape(dy, [n, info.outChannels]);
      // Explicit transpose: the WASM matMul with transposeA takes a slow loop.
      return tf.reshape(tf.matMul(tf.transpose(xm), dym), filterShape) as tf.Tensor4D;
    }
    const xt = tf.transpose(xp, [3, 1, 2, 0]); // [Ci, H', W', N]
    const dyt = tf.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, N, Co]
    const out = tf.conv2d(xt, dyt, 1, 'valid', 'NHWC', [sh, sw]); // [Ci, fh, fw, Co]
    return tf.transpose(out, [1, 2, 0, 3]);
  });
}

/**
 * Input gradient of an NHWC conv2d, i.e. the forward pass of a transposed
 * convolution: dy [N,Ho,Wo,Co], filter [fh,fw,Ci,Co] -> dx [N,H,W,Ci]
 * (inputShape). A stride-s transposed conv is split into s*s stride-1
 * correlations, one per output phase, whose results are interleaved
 * (few output channels: one combined correlation, see combinedPhases).
 */
export function conv2dInputGrad(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: Shape4,
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode?: Rounding,
): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: ci, outChannels: co } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw, outHeight: ho, outWidth: wo } = info;
  const { top, left } = info.padInfo;

  if (ho === 1 && wo === 1 && top === 0 && left === 0 && H === fh && W === fw) {
    // A 1x1 input spread over the whole filter window (the generator's first
    // layer, the discriminator's last): one matrix product.
    // dy [n, co] x W^T [co, fh*fw*ci]. W^T is cached like the phase filters
    // (an explicit transpose: the WASM matMul with transposeB takes a slow
    // loop), so inference also reuses XNNPACK's packed weights.
    const [wT] = cachedPhaseFilters(filter, 'matmul', (backend) => [buildTransposedMatrix(filter, backend)]);
    return tf.tidy(() => {
      const out = matMulRaw(tf.reshape(dy, [1, n, co]), { ...wT!, shape: [1, co, fh * fw * ci] });
      return tf.reshape(out, [n, H, W, ci]) as tf.Tensor4D;
    });
  }

  const mh = Math.ceil(H / sh);
  const mw = Math.ceil(W / sw);
  const rowPlans = Array.from({ length: sh }, (_, a) => axisPhase(a, sh, fh, top, ho, mh));
  const colPlans = Array.from({ length: sw }, (_, b) => axisPhase(b, sw, fw, left, wo, mw));
  if (sh * sw > 1 && sh * sw * ci <= COMBINED_MAX_CHANNELS) {
    return combinedPhases(
      dy,
      filter,
      rowPlans,
      colPlans,
      [n, H, W, ci],
      mh,
      mw,
      sh,
      sw,
      `${sh},${sw},${top},${left},combined`,
    );
  }
  const phaseFilters = cachedPhaseFilters(filter, `${sh},${sw},${top},${left}`, (b) =>
    buildPhaseFilters(filter, rowPlans, colPlans, sh, sw, b),
  );
  return tf.tidy(() => {
    const phases: tf.Tensor4D[] = [];
    let p = 0;
    for (const rows of rowPlans) {
      for (const cols of colPlans) {
        const gt = phaseFilters[p++];
        if (!gt) {
          phases.push(tf.zeros([n, mh, mw, ci]));
          continue;
        }
        // Crop dy where the padding is negative, pad the rest inside conv2d.
        const { cropped, pads } = cropAndPads(dy, rows.before, rows.after, cols.before, cols.after);
        phases.push(conv2dRaw(cropped, gt, pads));
      }
    }
    if (phases.length === 1) {
      const out = phases[0];
      return out.shape[1] === H && out.shape[2] === W ? out : tf.slice(out, [0, 0, 0, 0], [n, H, W, ci]);
    }
    return interleavePhases(
      phases.map((t) => ({ data: t.dataSync() as Float32Array, pixelStride: ci, channelOffset: 0 })),
      mh,
      mw,
      sh,
      sw,
      [n, H, W, ci],
    );
  });
}

/** a [1, m, k] x b [1, k, n] with a backend-resident b, through the active backend's BatchMatMul kernel. */
function matMulRaw(a: tf.Tensor3D, b: { dataId: object; shape: number[]; dtype: 'float32' }): tf.Tensor3D {
  const engine = tf.engine();
  const kernel = tf.getKernel('BatchMatMul', engine.backendName);
  if (!kernel) throw new Error(`no BatchMatMul kernel on backend ${engine.backendName}`);
  const attrs = { transposeA: false, transposeB: false };
  const out = kernel.kernelFunc({
    inputs: { a, b } as unknown as tf.NamedTensorInfoMap,
    backend: engine.backend,
    attrs: attrs as unknown as tf.NamedAttrMap,
  });
  return engine.makeTensorFromTensorInfo(out as tf.TensorInfo) as tf.Tensor3D;
}

/** Stride-1 NHWC conv2d of `x` with a backend-resident filter, run through the active backend's Conv2D kernel. */
function conv2dRaw(x: tf.Tensor4D, filter: RawFilter, pad: tf.backend_util.ExplicitPadding): tf.Tensor4D {
  const engine = tf.engine();
  const kernel = tf.getKernel('Conv2D', engine.backendName);
  if (!kernel) throw new Error(`no Conv2D kernel on backend ${engine.backendName}`);
  const attrs = { strides: 1, pad, dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined };
  const out = kernel.kernelFunc({
    inputs: { x, filter } as unknown as tf.NamedTensorInfoMap,
    backend: engine.backend,
    attrs: attrs as unknown as tf.NamedAttrMap,
  });
  return engine.makeTensorFromTensorInfo(out as tf.TensorInfo) as tf.Tensor4D;
}

/**
 * Few output channels (the generator's last layer, the discriminator's
 * first-layer input gradient: 1 or 3 channels): per-phase convolutions with
 * 1-3 output channels run XNNPACK at a fraction of its speed. Instead all
 * phases are computed by ONE stride-1 convolution whose output channels are
 * the phases' channels side by side, with each phase's taps placed at its
 * offset in a common window (zeros elsewhere). More multiply-adds (2.25x for
 * 4x4 stride 2) but a GEMM shape XNNPACK runs ~2.5x faster here.
 */
const COMBINED_MAX_CHANNELS = 32;

function combinedPhases(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  rowPlans: AxisPhase[],
  colPlans: AxisPhase[],
  outShape: Shape4,
  mh: number,
  mw: number,
  sh: number,
  sw: number,
  params: string,
): tf.Tensor4D {
  const [, , , ci] = outShape;
  const [, ho, wo] = dy.shape;
  const { padT, padL, kh, kw } = combinedWindow(rowPlans, colPlans);
  const phasesN = sh * sw;
  const [combined] = cachedPhaseFilters(filter, params, (backend) => [
    buildCombinedFilter(filter, rowPlans, colPlans, sh, sw, backend),
  ]);
  return tf.tidy(() => {
    const padB = mh + kh - 1 - ho - padT;
    const padR = mw + kw - 1 - wo - padL;
    const { cropped, pads } = cropAndPads(dy, padT, padB, padL, padR);
    const all = conv2dRaw(cropped, combined!, pads); // [n, mh, mw, phases*ci]
    const data = all.dataSync() as Float32Array;
    return interleavePhases(
      Array.from({ length: phasesN }, (_, p) => ({ data, pixelStride: phasesN * ci, channelOffset: p * ci })),
      mh,
      mw,
      sh,
      sw,
      outShape,
    );
  });
}

/**
 * Interleaves phase outputs P[a*sw+b] ([n, mh, mw, ci]) into [n, H, W, ci]:
 * P[a,b][n, m, k] lands at row m*sh+a, column k*sw+b (cropped to H, W).
 * Done in JS with block copies of ci values: the backends' Concat along the
 * channel axis plus Transpose/DepthToSpace cost 10-40x more on WASM when ci is small.
 */
function interleavePhases(
  phases: PhaseSource[],
  mh: number,
  mw: number,
  sh: number,
  sw: number,
  outShape: Shape4,
): tf.Tensor4D {
  const [n, H, W, ci] = outShape;
  const out = new Float32Array(n * H * W * ci);
  phases.forEach(({ data: src, pixelStride, channelOffset }, idx) => {
    const a = Math.floor(idx / sw);
    const b = idx % sw;
    const rows = Math.min(mh, Math.ceil((H - a) / sh));
    const cols = Math.min(mw, Math.ceil((W - b) / sw));
    const step = sw * ci;
    for (let i = 0; i < n; i++) {
      for (let m = 0; m < rows; m++) {
        let si = (i * mh + m) * mw * pixelStride + channelOffset;
        let di = ((i * H + m * sh + a) * W + b) * ci;
        if (ci === 1) {
          for (let k = 0; k < cols; k++, si += pixelStride, di += step) out[di] = src[si];
        } else if (ci <= 8) {
          for (let k = 0; k < cols; k++, si += pixelStride, di += step)
            for (let c = 0; c < ci; c++) out[di + c] = src[si + c];
        } else {
          for (let k = 0; k < cols; k++, si += pixelStride, di += step) out.set(src.subarray(si, si + ci), di);
        }
      }
    }
  });
  return tf.tensor4d(out, outShape);
}

/** One phase's values: pixel (i, m, k) starts at ((i*mh + m)*mw + k)*pixelStride + channelOffset. */
interface PhaseSource {
  data: Float32Array;
  pixelStride: number;
  channelOffset: number;
}
