/**
 * The generation service: holds the active generator in memory and turns
 * latent vectors into images for every request of the bot.
 *
 * - Requests that arrive while a forward pass runs are queued and the next
 *   pass takes as many as fit in `maxBatch` images (one bigger pass is
 *   cheaper than several small ones on WASM/CPU).
 * - Admission control: a per-user rate limit and a bound on the work
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
import { BusyError, RateLimitedError, UserError } from './errors.ts';

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

export interface GenerationResult {
  /** [n, h, w, c] values in [-1, 1]. */
  pixels: Float32Array;
  shape: { n: number; h: number; w: number; c: number };
  /** Version of the checkpoint that drew these images. */
  version: string;
  nz: number;
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

/** A request's place among the admitted work; release() it when the request is done (idempotent). */
export interface Admission {
  release(): void;
}

interface Pending {
  latents: Float32Array;
  n: number;
  resolve: (r: GenerationResult) => void;
  reject: (e: unknown) => void;
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
  private hits = new Map<string, number[]>();
  /** Passes admitted and not released yet. */
  private admittedPasses = 0;
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
  private readonly rate: { count: number; windowMs: number };
  private readonly exempt: (userId: string) => boolean;
  private readonly now: () => number;
  private readonly log?: Logger;

  constructor(opts: GenerationOptions = {}) {
    // 8: on WASM a pass of 8 (32 px, ngf 32) takes ~17 ms of the event loop; bigger passes gain no throughput.
    this.maxBatch = opts.maxBatch ?? 8;
    this.maxQueue = opts.maxQueue ?? 32;
    this.rate = opts.rateLimit ?? { count: 5, windowMs: 60_000 };
    const exempt = new Set(opts.exemptUserIds ?? []);
    this.exempt = (id) => exempt.has(id) || (opts.isExempt?.(id) ?? false);
    this.now = opts.now ?? Date.now;
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
    return this.admittedPasses;
  }

  /**
   * Checks (and counts) one request of `userId` against the rate limit and the
   * bound on admitted work, and reserves its place until release(). Throws a
   * UserError to show the user; call before deferring. `passes` is how many
   * generate() calls the request will queue (a /blend queues several): all
   * must fit, or the member would be told "busy" only after the reply was
   * deferred.
   *
   * The place is held from here to release(), not only while queued: between
   * the two a request defers its reply over the network, and counting only the
   * queue let hundreds of simultaneous requests in at once (nobody told busy,
   * p99 10 s with SHOE_QUEUE_MAX=8).
   */
  admit(userId: string, passes = 1): Admission {
    if (this.closed) throw new UserError('Shoebot is restarting. Try again in a minute.');
    if (!this.slot)
      throw new UserError('No sneaker generator is loaded yet. An admin can train one with `/train run`.');
    // Capped: with a tiny SHOE_QUEUE_MAX a multi-pass request must still be possible on an idle bot.
    const need = Math.min(passes, this.maxQueue);
    if (this.admittedPasses + need > this.maxQueue || this.queue.length + need > this.maxQueue) throw new BusyError();
    if (!this.exempt(userId)) this.countForRateLimit(userId);
    this.admittedPasses += need;
    this.stats.peakAdmitted = Math.max(this.stats.peakAdmitted, this.admittedPasses);
    let held = true;
    return {
      release: () => {
        if (held) this.admittedPasses -= need;
        held = false;
      },
    };
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

  /** Counts one request of a member who is not exempt; throws when they are over the rate limit. */
  private countForRateLimit(userId: string): void {
    const now = this.now();
    const recent = (this.hits.get(userId) ?? []).filter((t) => now - t < this.rate.windowMs);
    if (recent.length >= this.rate.count) {
      this.hits.set(userId, recent);
      throw new RateLimitedError(recent[0] + this.rate.windowMs - now);
    }
    recent.push(now);
    this.hits.set(userId, recent);
    // Keep the map from growing with users who left.
    if (this.hits.size > 10_000)
      for (const [k, v] of this.hits) if (!v.some((t) => now - t < this.rate.windowMs)) this.hits.delete(k);
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
    // Take requests in order while they fit in one pass (always at least one).
    const batch: Pending[] = [];
    let total = 0;
    while (this.queue.length && (batch.length === 0 || total + this.queue[0].n <= this.maxBatch)) {
      const p = this.queue.shift()!;
      batch.push(p);
      total += p.n;
    }
    // Latent sizes must match this generator (a swap may change nz).
    const nz = slot.config.nz;
    const ok = batch.filter((p) => p.latents.length === p.n * nz);
    for (const p of batch)
      if (!ok.includes(p))
        p.reject(new UserError('The generator changed while your request waited. Please try again.'));
    if (!ok.length) return this.pump();
    total = ok.reduce((s, p) => s + p.n, 0);
    const latents = new Float32Array(total * nz);
    let o = 0;
    for (const p of ok) {
      latents.set(p.latents, o);
      o += p.latents.length;
    }
    this.busy = true;
    slot.inFlight++;
    const t0 = performance.now();
    generate(slot.model, latents, total)
      .then((pixels) => {
        const [, h, w, c] = slot.model.outputs[0].shape as [null, number, number, number];
        const per = h * w * c;
        let off = 0;
        for (const p of ok) {
          p.resolve({
            pixels: pixels.slice(off * per, (off + p.n) * per),
            shape: { n: p.n, h, w, c },
            version: slot.version,
            nz,
          });
          off += p.n;
        }
        const ms = performance.now() - t0;
        this.stats.passes++;
        this.stats.images += total;
        this.stats.lastPassMs = ms;
        this.stats.lastPassImages = total;
        this.stats.largestPass = Math.max(this.stats.largestPass, total);
        this.log?.debug(
          { images: total, requests: ok.length, ms: Math.round(ms), version: slot.version },
          'generator pass',
        );
      })
      .catch((err) => {
        this.log?.error({ err, version: slot.version }, 'generator pass failed');
        for (const p of ok) p.reject(err);
      })
      .finally(() => {
        slot.inFlight--;
        this.releaseIfRetired(slot);
        this.busy = false;
        this.pump();
      });
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
