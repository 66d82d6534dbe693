/**
 * Admission control for the generation service: a per-user rate limit and a bound on the work
 * admitted, both refused with a UserError the router shows ephemerally before anything is deferred.
 *
 * A place is held from admit() to release(), not only while queued: between the two a request
 * defers its reply over the network, and counting only the queue let hundreds of simultaneous
 * requests in at once (nobody told busy, p99 10 s with SHOE_QUEUE_MAX=8).
 */
import { BusyError, RateLimitedError } from './errors.ts';

/** A request's place among the admitted work; release() it when the request is done (idempotent). */
export interface Admission {
  release(): void;
}

/** Counts admitted passes against `maxQueue` and requests per member against `rate`. */
export class AdmissionGate {
  private hits = new Map<string, number[]>();
  /** Passes admitted and not released yet. */
  private admittedPasses = 0;

  constructor(
    private readonly maxQueue: number,
    private readonly rate: { count: number; windowMs: number },
    private readonly exempt: (userId: string) => boolean,
    private readonly now: () => number,
  ) {}

  /** Passes admitted and not released yet. */
  get admitted(): number {
    return this.admittedPasses;
  }

  /**
   * Admits `need` passes of `userId` while `queued` requests wait for a pass: throws BusyError
   * when they don't fit (without counting the request), RateLimitedError when the member is over
   * the rate limit (unless exempt); else holds the place until release().
   */
  admit(userId: string, need: number, queued: number): Admission {
    if (this.admittedPasses + need > this.maxQueue || queued + need > this.maxQueue) throw new BusyError();
    if (!this.exempt(userId)) this.countForRateLimit(userId);
    this.admittedPasses += need;
    let held = true;
    return {
      release: () => {
        if (held) this.admittedPasses -= need;
        held = false;
      },
    };
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
}
