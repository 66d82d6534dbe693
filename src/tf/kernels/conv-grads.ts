/**
 * Convolution gradients rewritten as forward convolutions / matrix products,
 * which the WASM backend runs through XNNPACK (fast) instead of its naive C++
 * loops, and which give the WASM backend the Conv2DBackpropFilter kernel it
 * lacks (tfjs#8474). Only NHWC (channelsLast) is handled here; callers fall
 * back to the stock kernels otherwise.
 *
 * These functions run *inside* a kernel (the engine has turned the gradient
 * tape off there), so they may freely use tf ops; each one is tidy and
 * returns a single new tensor. The input gradient's phases are run by
 * input-grad-phases.ts, with filters prepared and cached by phase-filters.ts.
 */
import { tf } from '../tfjs.ts';
import { COMBINED_MAX_CHANNELS, combinedPhases, separatePhases, type PhaseGrid } from './input-grad-phases.ts';
import { axisPhase, buildTransposedMatrix, cachedPhaseFilters } from './phase-filters.ts';
import { matMulRaw, padOrCrop } from './raw-ops.ts';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type Shape4 = [number, number, number, number];

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
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: ci } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw, outHeight: ho, outWidth: wo } = info;
  const { top, left } = info.padInfo;

  if (ho === 1 && wo === 1 && top === 0 && left === 0 && H === fh && W === fw) {
    return wholeWindowInputGrad(dy, filter, info);
  }

  const mh = Math.ceil(H / sh);
  const mw = Math.ceil(W / sw);
  const grid: PhaseGrid = {
    rowPlans: Array.from({ length: sh }, (_, a) => axisPhase(a, sh, fh, top, ho, mh)),
    colPlans: Array.from({ length: sw }, (_, b) => axisPhase(b, sw, fw, left, wo, mw)),
    mh,
    mw,
    sh,
    sw,
  };
  if (sh * sw > 1 && sh * sw * ci <= COMBINED_MAX_CHANNELS) {
    return combinedPhases(dy, filter, grid, [n, H, W, ci], `${sh},${sw},${top},${left},combined`);
  }
  return separatePhases(dy, filter, grid, [n, H, W, ci], `${sh},${sw},${top},${left}`);
}

/**
 * A 1x1 input spread over the whole filter window (the generator's first
 * layer, the discriminator's last): one matrix product.
 * dy [n, co] x W^T [co, fh*fw*ci]. W^T is cached like the phase filters
 * (an explicit transpose: the WASM matMul with transposeB takes a slow
 * loop), so inference also reuses XNNPACK's packed weights.
 */
function wholeWindowInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: ci, outChannels: co } = info;
  const { filterHeight: fh, filterWidth: fw } = info;
  const [wT] = cachedPhaseFilters(filter, 'matmul', (backend) => [buildTransposedMatrix(filter, backend)]);
  return tf.tidy(() => {
    const out = matMulRaw(tf.reshape(dy, [1, n, co]), { ...wT!, shape: [1, co, fh * fw * ci] });
    return tf.reshape(out, [n, H, W, ci]) as tf.Tensor4D;
  });
}
