/**
 * The training loop's data loader: real images in a seeded order, one
 * permutation per epoch (the last partial batch is dropped, so batch norm sees
 * constant batch sizes), optionally mirrored, as [-1, 1] float batches. Only
 * the batch is ever float32, never the dataset.
 *
 * Exact resume: the order is a pure function of the data-order RNG's state at
 * the start of the epoch and the position inside it, both stored in
 * checkpoints; flips are a pure function of (seed, step).
 */
import { tf } from '../tf/index.ts';
import type { Dataset } from '../data/dataset.ts';
import { Rng, type RngState } from './latent.ts';

/** Where the data order stands when a run starts (from a checkpoint or from scratch). */
export interface OrderStart {
  /** The data-order RNG. */
  rng: Rng;
  /** Its state before the current epoch's permutation was drawn. */
  start: RngState;
  epoch: number;
  /** Batches of the current epoch already consumed. */
  batchInEpoch: number;
  /** Draw a new permutation from `rng` (else redraw the current epoch's from `start`). */
  fresh: boolean;
}

/** The position a checkpoint stores (TrainerStateMeta's epochRng, epoch, batchInEpoch). */
export interface OrderPosition {
  epochRng: RngState;
  epoch: number;
  batchInEpoch: number;
}

/** The order in which a run visits the `n` training images, `batchSize` at a time. */
export class EpochOrder {
  private rng: Rng;
  private start: RngState;
  private epoch: number;
  private batchInEpoch: number;
  private perm: Uint32Array;
  private readonly stepsPerEpoch: number;

  constructor(
    from: OrderStart,
    private readonly n: number,
    private readonly batchSize: number,
  ) {
    this.rng = from.rng;
    this.start = from.start;
    this.epoch = from.epoch;
    this.batchInEpoch = from.batchInEpoch;
    this.stepsPerEpoch = Math.floor(n / batchSize);
    if (from.fresh) {
      this.start = this.rng.getState();
      this.perm = this.rng.permutation(n);
    } else {
      // Redraw the current epoch's permutation from its starting RNG state.
      this.rng = Rng.fromState(this.start);
      this.perm = this.rng.permutation(n);
    }
  }

  /**
   * The image indices of the next batch (a view: do not keep it past the
   * step). `newEpoch` is true when this batch starts an epoch, i.e. when the
   * previous one was used up and a new permutation was drawn.
   */
  next(): { indices: Uint32Array; newEpoch: boolean } {
    const newEpoch = this.batchInEpoch >= this.stepsPerEpoch;
    if (newEpoch) {
      this.epoch += 1;
      this.batchInEpoch = 0;
      this.start = this.rng.getState();
      this.perm = this.rng.permutation(this.n);
    }
    const B = this.batchSize;
    const indices = this.perm.subarray(this.batchInEpoch * B, (this.batchInEpoch + 1) * B);
    this.batchInEpoch += 1;
    return { indices, newEpoch };
  }

  /** Where the order stands now, for a checkpoint. */
  position(): OrderPosition {
    return { epochRng: this.start, epoch: this.epoch, batchInEpoch: this.batchInEpoch };
  }
}

/**
 * Copies `indices` images of `data` (uint8 NHWC, `w` pixels of `c` channels
 * per row) into one [-1, 1] float batch; images whose `flip` entry is set are
 * mirrored left-right. Only the batch is ever float32, never the dataset.
 */
function gatherBatch(
  data: Uint8Array,
  per: number,
  indices: ArrayLike<number>,
  w: number,
  c: number,
  flip?: boolean[],
): Float32Array {
  const out = new Float32Array(indices.length * per);
  const row = w * c;
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b] * per;
    const dst = b * per;
    if (flip?.[b]) {
      for (let y = 0; y < per; y += row) {
        for (let x = 0; x < w; x++) {
          for (let k = 0; k < c; k++) out[dst + y + x * c + k] = data[src + y + (w - 1 - x) * c + k] / 127.5 - 1;
        }
      }
    } else {
      for (let i = 0; i < per; i++) out[dst + i] = data[src + i] / 127.5 - 1;
    }
  }
  return out;
}

/** Which images of the batch at `step` are flipped: a pure function of (seed, step), so resume repeats it. */
function flipsFor(seed: number, step: number, n: number): boolean[] {
  const rng = new Rng(seed * 7919 + step * 2 + 1);
  return Array.from({ length: n }, () => rng.uniform() < 0.5);
}

/**
 * The training images `indices` of `data` as one [B, H, W, C] batch in
 * [-1, 1]; with `flip`, each image mirrored with probability 1/2 as
 * flipsFor(flip.seed, flip.step) decides. The caller disposes the tensor.
 */
export function realBatch(data: Dataset, indices: Uint32Array, flip?: { seed: number; step: number }): tf.Tensor4D {
  const { meta } = data;
  const B = indices.length;
  const per = meta.height * meta.width * meta.channels;
  const flips = flip ? flipsFor(flip.seed, flip.step, B) : undefined;
  return tf.tensor4d(gatherBatch(data.train, per, indices, meta.width, meta.channels, flips), [
    B,
    meta.height,
    meta.width,
    meta.channels,
  ]);
}
