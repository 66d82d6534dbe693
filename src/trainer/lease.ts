/**
 * The trainer lease from one process's side: take it if free or stale, heartbeat while holding it,
 * notice when it was lost, give it up on shutdown.
 *
 * Staleness is judged by OBSERVATION, not by comparing clocks: a contender remembers the holder's
 * (ownerId, heartbeatAt) pair and when (on its own monotonic clock) it last saw that pair change;
 * after `staleAfterMs` without a change it takes the lease over with an update conditioned on
 * exactly that pair. Machines whose clocks disagree therefore never steal a live lease, and a
 * holder's heartbeat value only needs to change, not to be "recent". The price: a process starting
 * after a holder died waits one staleness period before taking over (a clean shutdown releases the
 * lease, which is free at once).
 */
import crypto from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { PrismaClient } from '../db/client.ts';
import {
  createLease,
  heartbeatLease,
  NO_OWNER,
  readLease,
  releaseLease,
  takeLease,
  type TrainerLease,
} from '../db/trainer-lease.ts';

/** A process's unique lease identity: host, pid and a random part (pids repeat across machines and restarts). */
export function newOwnerId(host = os.hostname()): string {
  return `${host}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;
}

export interface LeaseKeeperOptions {
  db: PrismaClient;
  log: Logger;
  /** Default newOwnerId(). */
  ownerId?: string;
  /** Default os.hostname(). */
  host?: string;
  /** Holder's heartbeat interval (the caller drives heartbeats); staleness defaults to 3x this. */
  heartbeatMs: number;
  staleAfterMs?: number;
  /** Monotonic clock in ms (tests). */
  monotonic?: () => number;
  /** Wall clock in ms for heartbeat values (tests simulate a machine whose clock is off). */
  now?: () => number;
}

export type AcquireResult =
  | { holding: true; how: 'created' | 'free' | 'stale' | 'already' }
  | { holding: false; holder: { ownerId: string; ownerHost: string; heartbeatAt: Date; unchangedForMs: number } };

export class LeaseKeeper {
  readonly ownerId: string;
  readonly host: string;
  readonly staleAfterMs: number;
  private holdingValue = false;
  private lastBeat = 0;
  private seen?: { key: string; since: number };
  private readonly mono: () => number;

  constructor(private readonly opts: LeaseKeeperOptions) {
    this.host = opts.host ?? os.hostname();
    this.ownerId = opts.ownerId ?? newOwnerId(this.host);
    this.staleAfterMs = opts.staleAfterMs ?? 3 * opts.heartbeatMs;
    this.mono = opts.monotonic ?? (() => performance.now());
  }

  get holding(): boolean {
    return this.holdingValue;
  }

  /** A heartbeat value that always changes, even when the wall clock stands still or goes back. */
  private beatTime(): Date {
    this.lastBeat = Math.max((this.opts.now ?? Date.now)(), this.lastBeat + 1);
    return new Date(this.lastBeat);
  }

  /** One attempt to take the lease. Call it repeatedly (e.g. every heartbeat) while not holding. */
  async tryAcquire(snapshot?: string): Promise<AcquireResult> {
    const { db, log } = this.opts;
    // A new holder never leaves the previous holder's snapshot in place.
    const owner = () => ({
      ownerId: this.ownerId,
      ownerHost: this.host,
      heartbeatAt: this.beatTime(),
      snapshot: snapshot ?? '{}',
    });
    const row = await readLease(db);
    if (!row) {
      if (await createLease(db, owner())) return this.won('created');
      return this.notHolding(await readLease(db));
    }
    if (row.ownerId === this.ownerId) {
      if (await heartbeatLease(db, this.ownerId, this.beatTime(), snapshot)) return this.won('already');
      return this.notHolding(await readLease(db));
    }
    if (row.ownerId === NO_OWNER) {
      if (await takeLease(db, row, owner())) return this.won('free');
      return this.notHolding(await readLease(db));
    }
    const key = `${row.ownerId}@${row.heartbeatAt.getTime()}`;
    const now = this.mono();
    if (this.seen?.key !== key) this.seen = { key, since: now };
    const unchanged = now - this.seen.since;
    if (unchanged >= this.staleAfterMs) {
      if (await takeLease(db, row, owner())) {
        log.warn(
          { previous: row.ownerId, previousHost: row.ownerHost, silentForMs: Math.round(unchanged) },
          `took over the trainer lease from ${row.ownerId}: no heartbeat for ${Math.round(unchanged / 1000)} s`,
        );
        return this.won('stale');
      }
      return this.notHolding(await readLease(db));
    }
    return this.notHolding(row);
  }

  private won(how: 'created' | 'free' | 'stale' | 'already'): AcquireResult {
    this.holdingValue = true;
    this.seen = undefined;
    return { holding: true, how };
  }

  private notHolding(row: TrainerLease | null): AcquireResult {
    this.holdingValue = false;
    if (!row)
      return {
        holding: false,
        holder: { ownerId: NO_OWNER, ownerHost: '', heartbeatAt: new Date(0), unchangedForMs: 0 },
      };
    const key = `${row.ownerId}@${row.heartbeatAt.getTime()}`;
    const now = this.mono();
    if (this.seen?.key !== key) this.seen = { key, since: now };
    return {
      holding: false,
      holder: {
        ownerId: row.ownerId,
        ownerHost: row.ownerHost,
        heartbeatAt: row.heartbeatAt,
        unchangedForMs: now - this.seen.since,
      },
    };
  }

  /** Heartbeat (with a snapshot when given). False = the lease was lost (taken over while we were silent). */
  async heartbeat(snapshot?: string): Promise<boolean> {
    if (!this.holdingValue) return false;
    const ok = await heartbeatLease(this.opts.db, this.ownerId, this.beatTime(), snapshot);
    if (!ok) this.holdingValue = false;
    return ok;
  }

  /** Gives the lease up (no-op when not holding). */
  async release(snapshot?: string): Promise<void> {
    if (!this.holdingValue) return;
    this.holdingValue = false;
    await releaseLease(this.opts.db, this.ownerId, this.beatTime(), snapshot);
  }
}
