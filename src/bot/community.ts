/**
 * Community taste per guild: reads what the guild was shown and what it upvoted, fits the taste
 * direction (the arithmetic in community-fit.ts, src/gan/steering.ts), caches the fit per guild and
 * steers /shoe mode:community latents with it; also the /train status line about it.
 *
 * Cache: one fit per guild (and the guild's decoded latents, which never change, for the
 * MAX_LATENT_GUILDS most recently fitted guilds: up to 2 MB each), refitted when (a) a vote in the
 * guild is added/removed in this process (`noteVote`, debounced: a burst of reactions refits once,
 * in the background), (b) the served checkpoint changes (hot-swap, rollback), or (c) the guild's
 * vote stamp in the database changed (votes another process stored; checked at most every
 * `recheckMs`). New designs alone don't refit: the taste is a snapshot taken when votes last
 * changed, which is what keeps seeds reproducible between votes.
 */
import type { Logger } from 'pino';
import { latentsForSeed } from '../gan/latent.ts';
import {
  checkpointWeights,
  DEFAULT_STRENGTH,
  fitTasteDirection,
  steerLatents,
  steeringShift,
  tasteFingerprint,
} from '../gan/steering.ts';
import { checkpointHistory, designLatents, guildVoteCounts, guildVoteStamp, shownDesignIds } from '../db/steering.ts';
import { bytesToLatent } from '../db/designs.ts';
import { checkpointOrder, tasteSamples, type CachedDesign, type CommunityFit, type Served } from './community-fit.ts';
import { assertEnoughData, fmt, MIN_VOTED_DESIGNS, round } from './community-text.ts';
import { UserError } from './errors.ts';
import type { Store } from './store.ts';

export { DEFAULT_STRENGTH };

/** The newest designs of a guild a fit reads (older taste fades anyway, and this bounds the cost). */
export const MAX_FIT_DESIGNS = 5000;
/** Guilds whose decoded latents stay cached between fits (least recently fitted dropped first). */
export const MAX_LATENT_GUILDS = 32;

export interface CommunityOptions {
  /** Quiet time after the last vote before a background refit (default 1500 ms). */
  debounceMs?: number;
  /** How often a cached fit checks the database for votes from other processes (default 10 s). */
  recheckMs?: number;
  maxDesigns?: number;
  log?: Logger;
  now?: () => number;
}

interface Entry {
  fit: CommunityFit;
  epoch: number;
  checkedAt: number;
}

/** Fits and caches community taste per guild. */
export class CommunityTaste {
  private entries = new Map<string, Entry>();
  private inflight = new Map<string, Promise<CommunityFit>>();
  private epochs = new Map<string, number>();
  private timers = new Map<string, NodeJS.Timeout>();
  private latents = new Map<string, Map<number, CachedDesign>>();
  private readonly debounceMs: number;
  private readonly recheckMs: number;
  private readonly maxDesigns: number;
  private readonly now: () => number;
  /** Fits done (tests, metrics). */
  fits = 0;
  log?: Logger;

  constructor(
    readonly store: Store,
    opts: CommunityOptions = {},
  ) {
    this.debounceMs = opts.debounceMs ?? 1500;
    this.recheckMs = opts.recheckMs ?? 10_000;
    this.maxDesigns = opts.maxDesigns ?? MAX_FIT_DESIGNS;
    this.now = opts.now ?? Date.now;
    this.log = opts.log;
  }

  /** The cached fit for a guild, if any (no database access). */
  cached(guildId: string): CommunityFit | undefined {
    return this.entries.get(guildId)?.fit;
  }

  /**
   * The guild's taste for the served generator: the cached fit when it is current, else a new fit
   * (concurrent callers share one).
   */
  async get(guildId: string, served: Served): Promise<CommunityFit> {
    const e = this.entries.get(guildId);
    const epoch = this.epochs.get(guildId) ?? 0;
    if (e && e.epoch === epoch && e.fit.version === served.version && e.fit.nz === served.nz) {
      if (this.now() - e.checkedAt < this.recheckMs) return e.fit;
      const stamp = await guildVoteStamp(this.store.db, guildId);
      if (stamp === e.fit.stamp) {
        e.checkedAt = this.now();
        return e.fit;
      }
    }
    return this.refit(guildId, served);
  }

  private refit(guildId: string, served: Served): Promise<CommunityFit> {
    const key = `${guildId}\0${served.version}\0${served.nz}`;
    const running = this.inflight.get(key);
    if (running) return running;
    const epoch = this.epochs.get(guildId) ?? 0;
    const p = this.fit(guildId, served)
      .then((fit) => {
        // A vote that arrived while fitting leaves the new fit stale (epoch moved on).
        this.entries.set(guildId, { fit, epoch, checkedAt: this.now() });
        this.log?.debug(
          {
            guild: guildId,
            version: fit.version,
            voted: fit.votedDesigns,
            votes: fit.votes,
            signal: round(fit.signal),
            shrink: round(fit.shrink),
            taste: fit.fingerprint,
            ms: round(fit.fitMs),
          },
          'community taste fitted',
        );
        return fit;
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /**
   * Reads the guild's shown designs and votes and fits the taste (no fit caching; latents already
   * decoded for this guild are reused, so a refit after a vote reads only ids, vote counts and new
   * designs).
   */
  async fit(guildId: string, served: Served): Promise<CommunityFit> {
    const t0 = performance.now();
    const db = this.store.db;
    // The stamp first: a vote landing during the reads makes the next check refit, never the reverse.
    const stamp = await guildVoteStamp(db, guildId);
    const [ids, counts, history] = await Promise.all([
      shownDesignIds(db, guildId, this.maxDesigns),
      guildVoteCounts(db, guildId),
      checkpointHistory(db),
    ]);
    const designs = await this.windowLatents(guildId, ids);
    const weights = checkpointWeights(
      checkpointOrder(history, designs, served, () => this.now()),
      served.version,
    );
    const { samples, tally } = tasteSamples(designs, counts, weights, served);
    const taste = fitTasteDirection(samples, served.nz);
    this.fits++;
    return {
      ...taste,
      guildId,
      version: served.version,
      fingerprint: tasteFingerprint(taste.direction, taste.shrink),
      ...tally,
      stamp,
      fittedAt: this.now(),
      fitMs: performance.now() - t0,
    };
  }

  /**
   * The guild's designs `ids` with their latents, oldest first: decodes only those not cached yet,
   * keeps the cache to this window and marks the guild most recently used.
   */
  private async windowLatents(guildId: string, ids: number[]): Promise<[number, CachedDesign][]> {
    const known = this.latents.get(guildId) ?? new Map<number, CachedDesign>();
    const missing = ids.filter((id) => !known.has(id));
    for (const d of await designLatents(this.store.db, missing)) {
      known.set(d.id, {
        latent: bytesToLatent(d.latent),
        version: d.checkpointVersion,
        time: d.createdAt.getTime(),
        group: d.messageId ?? `design-${d.id}`,
      });
    }
    // Keep only the current window (older designs slid out of it).
    const current = new Map<number, CachedDesign>();
    for (const id of ids) {
      const d = known.get(id);
      if (d) current.set(id, d);
    }
    // Re-insert: Map order is the LRU order.
    this.latents.delete(guildId);
    this.latents.set(guildId, current);
    while (this.latents.size > MAX_LATENT_GUILDS) this.latents.delete(this.latents.keys().next().value!);
    // Oldest first, so the float sums don't depend on how many newer rows exist.
    return [...current].sort((x, y) => x[0] - y[0]);
  }

  /**
   * A vote in the guild changed: the cached fit is stale; refit in the background once votes have
   * been quiet for `debounceMs` (only guilds that use community mode have a fit to refresh).
   */
  noteVote(guildId: string | null): void {
    if (!guildId) return;
    this.epochs.set(guildId, (this.epochs.get(guildId) ?? 0) + 1);
    const e = this.entries.get(guildId);
    if (!e) return;
    clearTimeout(this.timers.get(guildId));
    const t = setTimeout(() => {
      this.timers.delete(guildId);
      const served = { version: e.fit.version, nz: e.fit.nz };
      this.get(guildId, served).catch((err) => this.log?.warn({ err, guild: guildId }, 'community taste refit failed'));
    }, this.debounceMs);
    t.unref();
    this.timers.set(guildId, t);
  }

  /** Drops every cached fit and latent (version changes are detected by get() anyway). */
  clear(): void {
    this.entries.clear();
    this.latents.clear();
  }

  /** Cancels pending background refits. */
  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /**
   * `count` community-steered latents ([count, nz]) for a seed: the plain latents of `seed`
   * (latentsForSeed) moved along the guild's taste direction by `strength` (0..1). Throws a
   * UserError, without sampling, when the guild's votes can't support steering yet.
   */
  async sample(
    guildId: string,
    served: Served,
    seed: number,
    count: number,
    strength: number,
  ): Promise<{ latents: Float32Array; fit: CommunityFit; shift: number }> {
    if (!(strength >= 0 && strength <= 1)) throw new UserError('`strength` must be a number from 0 to 1.');
    const fit = await this.get(guildId, served);
    assertEnoughData(fit);
    const shift = steeringShift(fit, strength);
    return { latents: steerLatents(latentsForSeed(seed, count, served.nz), count, fit.direction, shift), fit, shift };
  }
}

const caches = new WeakMap<Store, CommunityTaste>();

/** The process's community-taste cache for a store (created on first use). */
export function communityTaste(store: Store, opts?: CommunityOptions): CommunityTaste {
  let c = caches.get(store);
  if (!c) {
    c = new CommunityTaste(store, opts);
    caches.set(store, c);
  }
  // Whoever creates it first (a vote handler) may not have had a logger at hand.
  c.log ??= opts?.log;
  return c;
}

/**
 * The /train status line: "Steering data: N voted designs / M votes in this server (K on the
 * current checkpoint, effective weight W)", plus whether community mode can use it. Never throws.
 */
export async function steeringStatusLine(
  store: Store,
  guildId: string | null,
  served: Served | undefined,
): Promise<string> {
  if (!guildId) return 'Steering data: n/a (community taste is per server)';
  if (!served) return 'Steering data: n/a (no generator loaded)';
  try {
    const fit = await communityTaste(store).get(guildId, served);
    let line =
      `Steering data: ${fit.votedDesigns} voted designs / ${fit.votes} votes in this server ` +
      `(${fit.currentVotedDesigns} on the current checkpoint, effective weight ${fmt(round(fit.weightedVotes, 1))})`;
    if (fit.incompatible) line += ` · ${fit.incompatible} designs of another latent size ignored`;
    if (fit.weightedPreferred < MIN_VOTED_DESIGNS)
      line += ` · community mode needs ${MIN_VOTED_DESIGNS} designs picked out of grids (has ${fmt(round(fit.weightedPreferred, 1))})`;
    else line += ` · taste signal ${fit.signal.toFixed(1)}× chance${fit.shrink <= 0 ? ' (not enough to steer)' : ''}`;
    return line;
  } catch (err) {
    return `Steering data: unavailable (${(err as Error).message.slice(0, 100)})`;
  }
}
