/**
 * The filters conv-grads.ts and input-grad-phases.ts run a transposed convolution with, derived
 * from its weight and cached on the backend: how a stride-s transposed convolution splits into s*s
 * stride-1 phases (per axis), each phase's flipped correlation filter, the one combined filter of
 * all phases for few output channels, and the transposed weight matrix for a 1x1 input. They are
 * written straight to the backend (not engine tensors) and kept per filter tensor and layout
 * (filter-cache.ts).
 */
import { tf } from '../tfjs.ts';
import { PerFilterCache } from './filter-cache.ts';

type Shape4 = [number, number, number, number];

/** Where one output phase of a strided transposed convolution reads its input, along one axis. */
export interface AxisPhase {
  /** Filter taps this phase uses (0 means the phase gets no contribution). */
  taps: number;
  /** First tap in the flipped filter; taps are start, start+s, ... */
  start: number;
  /** Padding (negative: cropping) of dy before and after, for a stride-1 'valid' correlation. */
  before: number;
  after: number;
}

/**
 * Output positions y = s*m + a (phase a) receive dy[p] * W[i] for s*p + i = y + padBefore.
 * With a + padBefore = s*d + r, the taps are i = r + s*k and p = m + d - k: a
 * stride-1 correlation of dy with those taps reversed.
 */
export function axisPhase(
  a: number,
  s: number,
  f: number,
  padBefore: number,
  inLen: number,
  outPerPhase: number,
): AxisPhase {
  const d = Math.floor((a + padBefore) / s);
  const r = (a + padBefore) % s;
  const taps = r < f ? Math.ceil((f - r) / s) : 0;
  // In the flipped filter Wf[j] = W[f-1-j], tap i = r + s*(taps-1-k') sits at f-1-r-s*(taps-1) + s*k'.
  const start = f - 1 - r - s * (taps - 1);
  const before = taps - 1 - d;
  const after = outPerPhase + taps - 1 - inLen - before;
  return { taps, start, before, after };
}

/** Filter data written straight to a backend (not an engine tensor; see cachedPhaseFilters). */
export interface RawFilter {
  dataId: object;
  shape: Shape4;
  dtype: 'float32';
}
export interface RawBackend {
  write(values: Float32Array, shape: number[], dtype: 'float32'): object;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** `values` written to `backend` as a float32 filter of `shape`. */
function rawFilter(backend: RawBackend, values: Float32Array, shape: Shape4): RawFilter {
  return { dataId: backend.write(values, shape, 'float32'), shape, dtype: 'float32' };
}

/** The filter [fh,fw,Ci,Co] with its in and out channels swapped ([fh,fw,Co,Ci]), as JS data (one fast transpose). */
function swappedWeights(filter: tf.Tensor4D): Float32Array {
  const swapped = tf.tidy(() => tf.transpose(filter, [0, 1, 3, 2]));
  const wt = swapped.dataSync() as Float32Array;
  swapped.dispose();
  return wt;
}

/**
 * The stride-1 correlation filter of every output phase ([taps_r, taps_c, Co, Ci],
 * flipped), or null for a phase no tap reaches. The in/out swap is one fast
 * transpose on the backend; the flipped taps are gathered in JS (each tap is a
 * contiguous Co*Ci block; the backends' Reverse/StridedSlice are slow loops).
 */
export function buildPhaseFilters(
  filter: tf.Tensor4D,
  rowPlans: AxisPhase[],
  colPlans: AxisPhase[],
  sh: number,
  sw: number,
  backend: RawBackend,
): Array<RawFilter | null> {
  const [fh, fw, ci, co] = filter.shape;
  const wt = swappedWeights(filter);
  const block = co * ci;
  const out: Array<RawFilter | null> = [];
  for (const rows of rowPlans) {
    for (const cols of colPlans) {
      if (rows.taps === 0 || cols.taps === 0) {
        out.push(null);
        continue;
      }
      const g = new Float32Array(rows.taps * cols.taps * block);
      for (let k = 0; k < rows.taps; k++) {
        const i = fh - 1 - (rows.start + sh * k); // flipped tap k -> original row
        for (let l = 0; l < cols.taps; l++) {
          const j = fw - 1 - (cols.start + sw * l);
          const src = (i * fw + j) * block;
          g.set(wt.subarray(src, src + block), (k * cols.taps + l) * block);
        }
      }
      out.push(rawFilter(backend, g, [rows.taps, cols.taps, co, ci]));
    }
  }
  return out;
}

/**
 * The common window of all phases for the combined correlation: dy's padding before it
 * (padT, padL) and the window's size (kh, kw), over the phases that have taps.
 */
export function combinedWindow(
  rowPlans: AxisPhase[],
  colPlans: AxisPhase[],
): { padT: number; padL: number; kh: number; kw: number } {
  const live = (p: AxisPhase[]) => p.filter((x) => x.taps > 0);
  const padT = Math.max(...live(rowPlans).map((p) => p.before));
  const padL = Math.max(...live(colPlans).map((p) => p.before));
  const kh = Math.max(...live(rowPlans).map((p) => padT - p.before + p.taps));
  const kw = Math.max(...live(colPlans).map((p) => padL - p.before + p.taps));
  return { padT, padL, kh, kw };
}

/**
 * ONE stride-1 correlation filter [kh, kw, Co, phases*Ci] for all phases (see combinedPhases in
 * input-grad-phases.ts): the phases' output channels side by side, each phase's flipped taps
 * placed at its offset in the common window (combinedWindow), zeros elsewhere.
 */
export function buildCombinedFilter(
  filter: tf.Tensor4D,
  rowPlans: AxisPhase[],
  colPlans: AxisPhase[],
  sh: number,
  sw: number,
  backend: RawBackend,
): RawFilter {
  const [fh, fw, ci, co] = filter.shape;
  const { padT, padL, kh, kw } = combinedWindow(rowPlans, colPlans);
  const wt = swappedWeights(filter); // [fh, fw, co, ci]
  const cout = sh * sw * ci;
  const g = new Float32Array(kh * kw * co * cout);
  rowPlans.forEach((rows, a) =>
    colPlans.forEach((cols, b) => {
      const p = a * sw + b;
      for (let k = 0; k < rows.taps; k++) {
        const i = fh - 1 - (rows.start + sh * k);
        const r = padT - rows.before + k;
        for (let l = 0; l < cols.taps; l++) {
          const j = fw - 1 - (cols.start + sw * l);
          const c = padL - cols.before + l;
          for (let o = 0; o < co; o++) {
            const src = ((i * fw + j) * co + o) * ci;
            const dst = ((r * kw + c) * co + o) * cout + p * ci;
            for (let q = 0; q < ci; q++) g[dst + q] = wt[src + q];
          }
        }
      }
    }),
  );
  return rawFilter(backend, g, [kh, kw, co, cout]);
}

/**
 * W^T [1, 1, Co, fh*fw*Ci] of a filter [fh,fw,Ci,Co], for dy [n, co] x W^T (an explicit transpose:
 * the WASM matMul with transposeB takes a slow loop).
 */
export function buildTransposedMatrix(filter: tf.Tensor4D, backend: RawBackend): RawFilter {
  const [fh, fw, ci, co] = filter.shape;
  const t = tf.tidy(() => tf.transpose(tf.reshape(filter, [fh * fw * ci, co])));
  const data = t.dataSync() as Float32Array;
  t.dispose();
  return rawFilter(backend, data, [1, 1, co, fh * fw * ci]);
}

/**
 * Phase filters cached per filter tensor and layout (filter-cache.ts). Besides skipping the
 * rearrangement, keeping the same filter data lets the WASM backend reuse its packed XNNPACK
 * operators (~30% of a small generator's time).
 */
const phaseCache = new PerFilterCache<RawBackend, Array<RawFilter | null>>((backend, filters) => {
  for (const f of filters) if (f) backend.disposeData(f.dataId, true);
});

/** The filters of `filter` in layout `params` on the active backend, made by `build` on a miss. */
export function cachedPhaseFilters(
  filter: tf.Tensor4D,
  params: string,
  build: (backend: RawBackend) => Array<RawFilter | null>,
): Array<RawFilter | null> {
  const backend = tf.engine().backend as unknown as RawBackend;
  return phaseCache.get(filter.dataId as object, backend, params, () => build(backend));
}

/** Frees every cached phase filter. */
export function clearPhaseFilterCache(): void {
  phaseCache.clear();
}

/** Number of filter tensors whose phase filters are cached (tests). */
export function phaseFilterCacheSize(): number {
  return phaseCache.size;
}
