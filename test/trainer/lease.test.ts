/**
 * The trainer lease: exactly one holder, even when several processes race for it at the same
 * moment (real processes, one real SQLite file); a live holder is never taken over; a killed holder
 * is taken over once its heartbeat has stopped changing for the staleness period; a holder that
 * was taken over notices at its next heartbeat; a released lease is free at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type PrismaClient } from '../../src/db/client.ts';
import { readLease, NO_OWNER } from '../../src/db/trainer-lease.ts';
import { createLogger } from '../../src/log.ts';
import { LeaseKeeper } from '../../src/trainer/lease.ts';
import { tempDir } from '../bot/harness.ts';
import { freshPgDatabase } from '../setup/pg-url.ts';
import { runTs, type Proc } from './helpers.ts';

const log = createLogger({ level: 'silent' });
const root = tempDir('shoebot-lease-');
let dbUrl: string;
let db: PrismaClient;
const procs: Proc[] = [];
afterAll(() => {
  for (const p of procs) p.child.kill('SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
});

/** Starts `n` racer processes, releases them at the same instant, returns their outputs when all have ended. */
async function race(n: number, env: Record<string, string> = {}): Promise<string[]> {
  const go = path.join(root, `go-${Date.now()}-${Math.random()}`);
  const racers = Array.from({ length: n }, () =>
    runTs('test/trainer/lease-racer.ts', [], { DB_URL: dbUrl, GO_FILE: go, ...env }),
  );
  procs.push(...racers);
  await Promise.all(racers.map((r) => r.waitFor(/READY/, 60_000)));
  fs.writeFileSync(go, '');
  const exits = await Promise.all(racers.map((r) => r.exited));
  expect(
    exits.map((e) => e.code),
    racers.map((r) => r.out()).join('\n'),
  ).toEqual(racers.map(() => 0));
  return racers.map((r) => r.out());
}

describe.each(['sqlite', 'postgresql'] as const)('trainer lease (%s, real processes)', (provider) => {
  beforeAll(async () => {
    dbUrl = provider === 'sqlite' ? `file:${path.join(root, 'shared.db')}` : await freshPgDatabase();
    db = await openDatabase(dbUrl);
  });
  afterAll(async () => {
    await db?.$disconnect();
  });

  it('three processes racing for a lease nobody holds yet: exactly one wins, nobody steals it from the live holder', async () => {
    const outs = await race(3, { DURATION: '2500', HEARTBEAT: '200' });
    const wins = outs.filter((o) => /WON/.test(o));
    expect(wins, outs.join('\n---\n')).toHaveLength(1);
    expect(wins[0]).toMatch(/WON created /);
    expect(outs.some((o) => /LOST/.test(o))).toBe(false);
    const winner = /WON created (\S+)/.exec(wins[0])![1];
    expect((await readLease(db))?.ownerId).toBe(winner);
  }, 120_000);

  it('a released lease: again exactly one of three racers takes it, at once', async () => {
    // Whoever holds it now (the previous winner, gone without releasing) is replaced by us, then we release.
    const me = new LeaseKeeper({ db, log, heartbeatMs: 50 });
    while (!(await me.tryAcquire()).holding) await new Promise((r) => setTimeout(r, 50));
    await me.release();
    expect((await readLease(db))?.ownerId).toBe(NO_OWNER);
    // Long heartbeat: a takeover by staleness is impossible within the race, only the free lease can be taken.
    const outs = await race(3, { DURATION: '1500', HEARTBEAT: '5000' });
    const wins = outs.filter((o) => /WON/.test(o));
    expect(wins, outs.join('\n---\n')).toHaveLength(1);
    expect(wins[0]).toMatch(/WON free /);
  }, 120_000);

  it('a killed holder is taken over only after its heartbeat stopped for the staleness period', async () => {
    const me = new LeaseKeeper({ db, log, heartbeatMs: 50 });
    while (!(await me.tryAcquire()).holding) await new Promise((r) => setTimeout(r, 50));
    await me.release();
    const go = path.join(root, `go-holder-${provider}`);
    fs.writeFileSync(go, '');
    const holder = runTs('test/trainer/lease-racer.ts', [], {
      DB_URL: dbUrl,
      GO_FILE: go,
      DURATION: '600000',
      HEARTBEAT: '200',
    });
    procs.push(holder);
    await holder.waitFor(/WON/, 60_000);

    // Heartbeat 200 ms -> stale after 600 ms without change. While the holder lives: never ours.
    // The contender's own clock, recorded each time it reads it (once per tryAcquire).
    let clockRead = 0;
    const contender = new LeaseKeeper({ db, log, heartbeatMs: 200, monotonic: () => (clockRead = performance.now()) });
    const t0 = Date.now();
    while (Date.now() - t0 < 2000) {
      expect((await contender.tryAcquire()).holding).toBe(false);
      await new Promise((r) => setTimeout(r, 50));
    }
    // How long the holder's heartbeat had been unchanged (as we observed it) just before the kill.
    // On the contender's clock: it last saw the heartbeat change at `seenAt - unchangedAtKill`, and a
    // takeover must come >= 600 ms after that.
    const before = await contender.tryAcquire();
    const seenAt = clockRead;
    expect(before.holding).toBe(false);
    const unchangedAtKill = before.holding ? 0 : before.holder.unchangedForMs;
    holder.child.kill('SIGKILL');
    const killedAt = Date.now();
    await holder.exited;
    let how = '';
    let tookAt = 0;
    while (Date.now() - killedAt < 20_000) {
      const r = await contender.tryAcquire();
      if (r.holding) {
        tookAt = clockRead;
        how = r.how;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const waited = Date.now() - killedAt;
    expect(how).toBe('stale');
    // Never before the staleness period (600 ms) counted from the last heartbeat we saw.
    // (The holder may have beaten once more between our look and the kill: that only moves the start later.)
    expect(tookAt - seenAt + unchangedAtKill).toBeGreaterThanOrEqual(600);
    expect(waited).toBeLessThan(10_000);
    console.log(`killed holder taken over after ${waited} ms (heartbeat 200 ms, staleness 600 ms)`);
    await contender.release();
  }, 120_000);

  it('a holder that was silent too long loses the lease and notices at its next heartbeat', async () => {
    let clock = 0;
    const a = new LeaseKeeper({ db, log, heartbeatMs: 1000, monotonic: () => clock });
    const b = new LeaseKeeper({ db, log, heartbeatMs: 1000, monotonic: () => clock });
    expect((await a.tryAcquire()).holding).toBe(true);
    expect((await b.tryAcquire()).holding).toBe(false);
    clock += 2500;
    expect(await a.heartbeat()).toBe(true); // alive: the observed value changes
    expect((await b.tryAcquire()).holding).toBe(false);
    clock += 2999;
    expect((await b.tryAcquire()).holding).toBe(false);
    clock += 1; // 3 s after b last saw a change
    expect(await b.tryAcquire()).toEqual({ holding: true, how: 'stale' });
    expect(await a.heartbeat()).toBe(false);
    expect(a.holding).toBe(false);
    expect((await a.tryAcquire()).holding).toBe(false);
    await b.release();
    expect((await a.tryAcquire()).holding).toBe(true);
    await a.release();
  });
});
