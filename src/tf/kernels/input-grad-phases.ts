/**
 * A convolution's input gradient (a stride-s transposed convolution) as stride-1 correlations on
 * XNNPACK, one per output phase (row and column offset modulo the stride), whose results are
 * interleaved into the output; with few output channels, all phases as one combined correlation.
 * The phases' filters are prepared and cached by phase-filters.ts; conv-grads.ts picks the path.
 */
import { tf } from '../tfjs.ts';
import {
  buildCombinedFilter,
  buildPhaseFilters,
  cachedPhaseFilters,
  combinedWindow,
  type AxisPhase,
} from './phase-filters.ts';
import { conv2dRaw, cropAndPads } from './raw-ops.ts';

type Shape4 = [number, number, number, number];

/** How a stride-(sh, sw) transposed convolution splits: each axis's phase plans, and a phase's output size mh x mw. */
export interface PhaseGrid {
  rowPlans: AxisPhase[];
  colPlans: AxisPhase[];
  mh: number;
  mw: number;
  sh: number;
  sw: number;
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
export const COMBINED_MAX_CHANNELS = 32;

/**
 * dy [n,ho,wo,co] and filter [fh,fw,ci,co] -> dx `outShape` through one correlation per phase
 * (their filters cached under `key`), interleaved; a phase with no taps contributes zeros.
 */
export function separatePhases(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  grid: PhaseGrid,
  outShape: Shape4,
  key: string,
): tf.Tensor4D {
  const [n, H, W, ci] = outShape;
  const { rowPlans, colPlans, mh, mw, sh, sw } = grid;
  const phaseFilters = cachedPhaseFilters(filter, key, (b) => buildPhaseFilters(filter, rowPlans, colPlans, sh, sw, b));
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
      grid,
      outShape,
    );
  });
}

/**
 * dy [n,ho,wo,co] and filter [fh,fw,ci,co] -> dx `outShape` through one combined correlation
 * (see COMBINED_MAX_CHANNELS; its filter cached under `key`), its channels then interleaved.
 */
export function combinedPhases(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  grid: PhaseGrid,
  outShape: Shape4,
  key: string,
): tf.Tensor4D {
  const [, , , ci] = outShape;
  const [, ho, wo] = dy.shape;
  const { rowPlans, colPlans, mh, mw, sh, sw } = grid;
  const { padT, padL, kh, kw } = combinedWindow(rowPlans, colPlans);
  const phasesN = sh * sw;
  const [combined] = cachedPhaseFilters(filter, key, (backend) => [
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
      grid,
      outShape,
    );
  });
}

/** One phase's values: pixel (i, m, k) starts at ((i*mh + m)*mw + k)*pixelStride + channelOffset. */
interface PhaseSource {
  data: Float32Array;
  pixelStride: number;
  channelOffset: number;
}

/**
 * Interleaves phase outputs P[a*sw+b] ([n, mh, mw, ci]) into [n, H, W, ci]:
 * P[a,b][n, m, k] lands at row m*sh+a, column k*sw+b (cropped to H, W).
 * Done in JS with block copies of ci values: the backends' Concat along the
 * channel axis plus Transpose/DepthToSpace cost 10-40x more on WASM when ci is small.
 */
function interleavePhases(phases: PhaseSource[], grid: PhaseGrid, outShape: Shape4): tf.Tensor4D {
  const { mh, mw, sh, sw } = grid;
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
