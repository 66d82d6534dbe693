/**
 * A blocking all-reduce between two threads (the training loop's main thread and
 * one worker) over a SharedArrayBuffer. Each data-parallel replica computes
 * gradients on its share of the batch; both then call `reduce` with the same
 * sequence of arrays and get back the identical weighted mean, so identical
 * replicas apply identical Adam updates and stay bit-identical.
 *
 * Blocking (Atomics.wait) rather than message passing lets the reduction run
 * in the middle of a synchronous train step (inside the optimiser's apply).
 * Node allows Atomics.wait on the main thread; a wait lasts only as long as
 * the slower replica needs to reach the same point.
 *
 * Two buffers alternate by generation: a replica can run at most one
 * reduction ahead of the other, so it never overwrites data still being read.
 */

/** Control words in the Int32 header. */
const GEN0 = 0; // rank 0's completed generation
const GEN1 = 1; // rank 1's completed generation
const ABORT = 2; // non-zero: a replica failed; everyone throws
const HEADER_INTS = 4;

export interface SharedReducerInit {
  /** The shared memory (create with SharedReducer.allocate). */
  buffer: SharedArrayBuffer;
  /** Floats per buffer (largest reduction). */
  capacity: number;
}

/** Thrown in a replica when the other one aborted or timed out. */
export class ReplicaAbortedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplicaAbortedError';
  }
}

export class SharedReducer {
  private readonly ctrl: Int32Array;
  /** data[gen parity][rank] */
  private readonly data: Float32Array[][];
  private gen = 0;

  /** Shared memory for reductions of up to `capacity` floats. */
  static allocate(capacity: number): SharedReducerInit {
    const bytes = HEADER_INTS * 4 + 2 * 2 * capacity * 4;
    return { buffer: new SharedArrayBuffer(bytes), capacity };
  }

  constructor(
    init: SharedReducerInit,
    readonly rank: 0 | 1,
    /** Give up waiting after this long without the other replica arriving. */
    private readonly timeoutMs = 120_000,
  ) {
    this.ctrl = new Int32Array(init.buffer, 0, HEADER_INTS);
    const at = (parity: number, rank: number) =>
      new Float32Array(init.buffer, HEADER_INTS * 4 + (parity * 2 + rank) * init.capacity * 4, init.capacity);
    this.data = [
      [at(0, 0), at(0, 1)],
      [at(1, 0), at(1, 1)],
    ];
  }

  get capacity(): number {
    return this.data[0][0].length;
  }

  /** Makes every replica's current or next wait throw (call when a step fails). */
  abort(): void {
    Atomics.store(this.ctrl, ABORT, 1);
    Atomics.notify(this.ctrl, GEN0);
    Atomics.notify(this.ctrl, GEN1);
  }

  get aborted(): boolean {
    return Atomics.load(this.ctrl, ABORT) !== 0;
  }

  /**
   * Weighted mean across the two replicas: returns
   * w0 * x_rank0 + w1 * x_rank1 (computed in that order on both sides, so the
   * result is bit-identical). `parts` are concatenated; the result has the
   * same layout. `weight` is this replica's weight (its share of the batch).
   */
  reduce(parts: readonly Float32Array[], weight: number): Float32Array[] {
    const total = parts.reduce((n, p) => n + p.length, 0);
    if (total > this.capacity)
      throw new Error(`all-reduce of ${total} floats exceeds the shared buffer (${this.capacity})`);
    this.gen += 1;
    const parity = this.gen & 1;
    const mine = this.data[parity][this.rank];
    // Pre-scale by our weight so the other side needs only one add.
    let off = 0;
    for (const p of parts) {
      for (let i = 0; i < p.length; i++) mine[off + i] = p[i] * weight;
      off += p.length;
    }
    const myGen = this.rank === 0 ? GEN0 : GEN1;
    const otherGen = this.rank === 0 ? GEN1 : GEN0;
    Atomics.store(this.ctrl, myGen, this.gen);
    Atomics.notify(this.ctrl, myGen);
    this.waitFor(otherGen);
    const a = this.data[parity][0];
    const b = this.data[parity][1];
    const out: Float32Array[] = [];
    off = 0;
    for (const p of parts) {
      const r = new Float32Array(p.length);
      for (let i = 0; i < p.length; i++) r[i] = a[off + i] + b[off + i];
      out.push(r);
      off += p.length;
    }
    return out;
  }

  /** Weighted mean of a few numbers (float64 in, float32 precision out). */
  reduceScalars(values: readonly number[], weight: number): number[] {
    return Array.from(this.reduce([Float32Array.from(values)], weight)[0]);
  }

  private waitFor(otherGen: number): void {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      if (this.aborted) throw new ReplicaAbortedError('the other training replica failed');
      const seen = Atomics.load(this.ctrl, otherGen);
      if (seen >= this.gen) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        this.abort();
        throw new ReplicaAbortedError(
          `the other training replica did not reach reduction ${this.gen} within ${this.timeoutMs} ms`,
        );
      }
      Atomics.wait(this.ctrl, otherGen, seen, Math.min(left, 1000));
    }
  }
}
