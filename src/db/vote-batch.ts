/**
 * Many vote changes in one transaction: the bot's vote writer turns a burst of reaction events (and
 * reconcile snapshots) into one read of the votes concerned and at most two writes, instead of one
 * transaction per event (Prisma's per-operation cost, not SQLite, bounds single writes at ~1,500/s).
 */
import type { PrismaClient } from './generated/client.ts';
import { isUniqueViolation } from './errors.ts';
import type { VoteKey } from './votes.ts';

/** `designId:userId`, the key of a vote in the sets below. */
export function voteKey(designId: number, userId: string): string {
  return `${designId}:${userId}`;
}

function parseKey(key: string): VoteKey {
  const i = key.indexOf(':');
  return { designId: Number(key.slice(0, i)), userId: key.slice(i + 1) };
}

export interface VoteScope {
  /** Single votes the batch may change. */
  pairs: VoteKey[];
  /** Designs whose votes the batch may change all of (reconcile). */
  designIds: number[];
}

export interface VoteBatchResult {
  added: VoteKey[];
  removed: VoteKey[];
}

/** Most votes (2-3 bound parameters each) one statement names: Prisma caps SQLite statements at 999 parameters. */
const CHUNK = 300;

function chunks<T>(xs: T[], n = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/**
 * Reads the votes in `scope`, hands them to `decide` (which returns the votes that must exist
 * afterwards, within the same scope) and writes the difference, all in one transaction. A
 * concurrent writer in another process (a unique violation, or SQLite's busy snapshot) makes the
 * whole batch retry on fresh data, so the result is always applied to what is really stored.
 */
export async function applyVoteBatch(db: PrismaClient, scope: VoteScope, decide: (present: Set<string>) => Set<string>, attempts = 3): Promise<VoteBatchResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.$transaction(async (tx) => {
        const present = new Set<string>();
        for (const part of chunks(scope.pairs)) {
          const rows = await tx.vote.findMany({ where: { OR: part }, select: { userId: true, designId: true } });
          for (const r of rows) present.add(voteKey(r.designId, r.userId));
        }
        for (const part of chunks(scope.designIds)) {
          const rows = await tx.vote.findMany({ where: { designId: { in: part } }, select: { userId: true, designId: true } });
          for (const r of rows) present.add(voteKey(r.designId, r.userId));
        }
        const wanted = decide(new Set(present));
        const removed = [...present].filter((k) => !wanted.has(k)).map(parseKey);
        const added = [...wanted].filter((k) => !present.has(k)).map(parseKey);
        for (const part of chunks(removed)) await tx.vote.deleteMany({ where: { OR: part } });
        for (const part of chunks(added)) await tx.vote.createMany({ data: part });
        return { added, removed };
      });
    } catch (e) {
      if (attempt >= attempts || !isRetryable(e)) throw e;
    }
  }
}

/** Another process wrote the same votes meanwhile: worth a retry on fresh data. */
function isRetryable(e: unknown): boolean {
  if (isUniqueViolation(e, ['userId', 'designId'])) return true;
  const text = e instanceof Error ? `${e.message} ${String((e as { cause?: unknown }).cause ?? '')}` : '';
  return /SQLITE_BUSY|database is locked/i.test(text);
}
