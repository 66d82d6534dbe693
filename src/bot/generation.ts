/**
 * The generation service: holds the active generator in memory and turns
 * latent vectors into images for every request of the bot.
 *
 * - Requests that arrive while a forward pass runs are queued and the next
 *   pass takes as many as fit in `maxBatch` images (one bigger pass is
 *   cheaper than several small ones on WASM/CPU; generation-batch.ts).
 * - Admission control (admission.ts): a per-user rate limit and a bound on the work
 *   admitted (requests from admit() until they are posted, not only what
 *   waits in the queue), both refused with a UserError the router shows
 *   ephemerally before anything is deferred.
 * - Hot-swap: `swap()` warms the new generator up, switches with one
 *   assignment (a pass in progress keeps the generator it started with), and
 *   disposes the old one when its last pass is done.
 */
import type { Logger } from 'pino';
import type { tf } from '../tf/index.ts';
import { generate } from '../gan/generate.ts';
import type { GanConfig } from '../gan/model.ts';
import type { CheckpointMetrics } from '../gan/quality.ts';
import { AdmissionGate, type Admission } from './admission.ts';
import { BusyError, UserError } from './errors.ts';
import { deliverPixels, joinLatents, takeBatch, type GenerationResult, type Pending } from './generation-batch.ts';

export interface GeneratorInfo {
  model: tf.LayersModel;
  config: GanConfig;
  version: string;
  step: number;
  createdAt: string;
  metrics: CheckpointMetrics;
}

interface Slot extends GeneratorInfo {
  inFlight: number;
  retired: boolean;
  activatedAt: number;
}

export interface GenerationOptions {
  /** Most images in one forward pass. */
  maxBatch?: number;
  /** Most passes admitted at once (admit() to release), and most requests waiting for a pass (not counting the one in progress). */
  maxQueue?: number;
  /** Per-user limit: `count` requests per `windowMs`. */
  rateLimit?: { count: number; windowMs: number };
  /** Users exempt from the rate limit (admins). */
  exemptUserIds?: string[];
  /** Also exempt from the rate limit (admins known only later, e.g. the application's owner). */
  isExempt?: (userId: string) => boolean;
  now?: () => number;
  log?: Logger;
}

export interface GenerationStats {
  passes: number;
  images: number;
  requests: number;
  lastPassMs: number;
  lastPassImages: number;
  largestPass: number;
  /** Most passes admitted at the same time (admit() until release()). */
  peakAdmitted: number;
}

export class GenerationService {
  private slot: Slot | undefined;
  private queue: Pending[] = [];
  private busy = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly gate: AdmissionGate;
  readonly stats: GenerationStats = {
    passes: 0,
    images: 0,
    requests: 0,
    lastPassMs: 0,
    lastPassImages: 0,
    largestPass: 0,
    peakAdmitted: 0,
  };
  readonly maxBatch: number;
  readonly maxQueue: number;
  private readonly now: () => number;
  private readonly log?: Logger;

  constructor(opts: GenerationOptions = {}) {
    // 8: on WASM a pass of 8 (32 px, ngf 32) takes ~17 ms of the event loop; bigger passes gain no throughput.
    this.maxBatch = opts.maxBatch ?? 8;
    this.maxQueue = opts.maxQueue ?? 32;
    const rate = opts.rateLimit ?? { count: 5, windowMs: 60_000 };
    const exempt = new Set(opts.exemptUserIds ?? []);
    this.now = opts.now ?? Date.now;
    this.gate = new AdmissionGate(
      this.maxQueue,
      rate,
      (id) => exempt.has(id) || (opts.isExempt?.(id) ?? false),
      () => this.now(),
    );
    this.log = opts.log;
  }

  /** The active generator's metadata, or undefined when none is loaded. */
  get active(): (Omit<GeneratorInfo, 'model'> & { activatedAt: number; nz: number }) | undefined {
    if (!this.slot) return undefined;
    const { model: _m, inFlight: _i, retired: _r, ...info } = this.slot;
    return { ...info, nz: this.slot.config.nz };
  }

  get queueLength(): number {
    return this.queue.length;
  }

  /** Passes admitted and not released yet. */
  get admitted(): number {
    return this.gate.admitted;
  }

  /**
   * Checks (and counts) one request of `userId` against the rate limit and the
   * bound on admitted work, and reserves its place until release(). Throws a
   * UserError to show the user; call before deferring. `passes` is how many
   * generate() calls the request will queue (a /blend queues several): all
   * must fit, or the member would be told "busy" only after the reply was
   * deferred.
   *
   * The place is held from here to release(), not only while queued (see admission.ts).
   */
  admit(userId: string, passes = 1): Admission {
    if (this.closed) throw new UserError('Shoebot is restarting. Try again in a minute.');
    if (!this.slot)
      throw new UserError('No sneaker generator is loaded yet. An admin can train one with `/train run`.');
    // Capped: with a tiny SHOE_QUEUE_MAX a multi-pass request must still be possible on an idle bot.
    const need = Math.min(passes, this.maxQueue);
    const admission = this.gate.admit(userId, need, this.queue.length);
    this.stats.peakAdmitted = Math.max(this.stats.peakAdmitted, this.gate.admitted);
    return admission;
  }

  /** Admits a request (see admit()) and holds its place until `work` settles. */
  async withAdmission<T>(userId: string, passes: number, work: () => Promise<T>): Promise<T> {
    const admission = this.admit(userId, passes);
    try {
      return await work();
    } finally {
      admission.release();
    }
  }

  /**
   * Generates `n` images from `latents` ([n, nz] float32). Resolves with
   * [n, h, w, c] pixels in [-1, 1] and the version that drew them. No tensor
   * outlives the call.
   */
  generate(latents: Float32Array, n: number): Promise<GenerationResult> {
    if (this.closed) return Promise.reject(new UserError('Shoebot is restarting. Try again in a minute.'));
    if (!this.slot) return Promise.reject(new UserError('No sneaker generator is loaded yet.'));
    if (!Number.isInteger(n) || n < 1 || n > this.maxBatch)
      return Promise.reject(new Error(`n must be 1..${this.maxBatch}, got ${n}`));
    if (latents.length !== n * this.slot.config.nz)
      return Promise.reject(new Error(`expected ${n}x${this.slot.config.nz} latents, got ${latents.length}`));
    if (this.queue.length >= this.maxQueue) return Promise.reject(new BusyError());
    return new Promise<GenerationResult>((resolve, reject) => {
      this.queue.push({ latents, n, resolve, reject });
      this.stats.requests++;
      this.pump();
    });
  }

  /** Starts the next pass if none is running and requests wait; tells idle() waiters when all is done. */
  private pump(): void {
    if (this.busy || this.queue.length === 0) {
      if (!this.busy && this.queue.length === 0) this.notifyIdle();
      return;
    }
    const slot = this.slot;
    if (!slot) {
      for (const p of this.queue.splice(0)) p.reject(new UserError('No sneaker generator is loaded.'));
      return;
    }
    const batch = takeBatch(this.queue, this.maxBatch, slot.config.nz);
    if (!batch.length) return this.pump();
    this.runPass(slot, batch);
  }

  /** One forward pass of `slot`'s generator for `batch`; when it settles, the next one. */
  private runPass(slot: Slot, batch: Pending[]): void {
    const nz = slot.config.nz;
    const total = batch.reduce((s, p) => s + p.n, 0);
    const latents = joinLatents(batch, total, nz);
    this.busy = true;
    slot.inFlight++;
    const t0 = performance.now();
    generate(slot.model, latents, total)
      .then((pixels) => {
        const [, h, w, c] = slot.model.outputs[0].shape as [null, number, number, number];
        deliverPixels(batch, pixels, [h, w, c], slot.version, nz);
        this.recordPass(slot, batch.length, total, performance.now() - t0);
      })
      .catch((err) => {
        this.log?.error({ err, version: slot.version }, 'generator pass failed');
        for (const p of batch) p.reject(err);
      })
      .finally(() => {
        slot.inFlight--;
        this.releaseIfRetired(slot);
        this.busy = false;
        this.pump();
      });
  }

  private recordPass(slot: Slot, requests: number, total: number, ms: number): void {
    this.stats.passes++;
    this.stats.images += total;
    this.stats.lastPassMs = ms;
    this.stats.lastPassImages = total;
    this.stats.largestPass = Math.max(this.stats.largestPass, total);
    this.log?.debug({ images: total, requests, ms: Math.round(ms), version: slot.version }, 'generator pass');
  }

  private releaseIfRetired(slot: Slot): void {
    if (slot.retired && slot.inFlight === 0) {
      slot.model.dispose();
      this.log?.info({ version: slot.version }, 'old generator disposed');
    }
  }

  /**
   * Makes `next` the active generator. It is warmed up first (one forward
   * pass, so the first user request doesn't pay for kernel set-up); if that
   * fails the current generator stays and the error is thrown. The previous
   * generator is disposed once its pass in progress (if any) is done.
   */
  async swap(next: GeneratorInfo, opts: { warmup?: boolean } = {}): Promise<void> {
    if (opts.warmup !== false) {
      const nz = next.config.nz;
      await generate(next.model, new Float32Array(nz), 1);
    }
    const old = this.slot;
    this.slot = { ...next, inFlight: 0, retired: false, activatedAt: this.now() };
    this.log?.info({ version: next.version, previous: old?.version }, 'generator active');
    if (old) {
      old.retired = true;
      this.releaseIfRetired(old);
    }
  }

  private notifyIdle(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves when no request is queued or running. */
  idle(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new requests, finishes queued ones, then frees the generator. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    if (this.slot) {
      this.slot.retired = true;
      this.releaseIfRetired(this.slot);
      this.slot = undefined;
    }
  }
}
