/**
 * Many vote changes in one transaction: the bot's vote writer turns a burst of reaction events (and
 * reconcile snapshots) into one read of the votes concerned and at most two writes, instead of one
 * transaction per event (Prisma's per-operation cost, not SQLite, bounds single writes at ~1,500/s).
 */
import { providerOf } from './client.ts';
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

/** Most values one statement binds: Prisma caps SQLite statements at 999 parameters. */
const MAX_PARAMS = 900;

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

type Tx = Pick<PrismaClient, '$queryRawUnsafe' | '$executeRawUnsafe'>;

/**
 * The statements, as raw SQL: Prisma compiles every new query shape once (~60 ms), and an OR of
 * n pairs is a new shape for every n, which made the first bursts 4x slower than later ones.
 */
class VoteSql {
  constructor(private readonly pg: boolean) {}

  private ph(n: number, from = 1): string {
    return Array.from({ length: n }, (_, i) => (this.pg ? `$${from + i}` : '?')).join(', ');
  }

  /** The votes of these designs by these users (a superset of the pairs asked about: filtered by the caller). */
  async read(tx: Tx, designIds: number[], userIds: string[] | undefined, into: Set<string>): Promise<void> {
    const per = userIds ? Math.floor(MAX_PARAMS / 2) : MAX_PARAMS;
    for (const ids of chunks([...new Set(designIds)], per)) {
      for (const users of userIds ? chunks([...new Set(userIds)], MAX_PARAMS - ids.length) : [undefined]) {
        const where =
          `"designId" IN (${this.ph(ids.length)})` +
          (users ? ` AND "userId" IN (${this.ph(users.length, ids.length + 1)})` : '');
        const rows = await tx.$queryRawUnsafe<{ userId: string; designId: number | bigint }[]>(
          `SELECT "userId", "designId" FROM "Vote" WHERE ${where}`,
          ...ids,
          ...(users ?? []),
        );
        for (const r of rows) into.add(voteKey(Number(r.designId), r.userId));
      }
    }
  }

  async remove(tx: Tx, votes: VoteKey[]): Promise<void> {
    const byDesign = new Map<number, string[]>();
    for (const v of votes) byDesign.set(v.designId, [...(byDesign.get(v.designId) ?? []), v.userId]);
    for (const [designId, users] of byDesign) {
      for (const part of chunks(users, MAX_PARAMS - 1)) {
        await tx.$executeRawUnsafe(
          `DELETE FROM "Vote" WHERE "designId" = ${this.ph(1)} AND "userId" IN (${this.ph(part.length, 2)})`,
          designId,
          ...part,
        );
      }
    }
  }

  async insert(tx: Tx, votes: VoteKey[]): Promise<void> {
    // createdAt as Prisma writes it: SQLite's adapter stores a Date as epoch ms; PostgreSQL's column
    // has no time zone and holds UTC (the server's own zone may differ).
    const per = this.pg ? 2 : 3;
    for (const part of chunks(votes, Math.floor(MAX_PARAMS / per))) {
      const rows = part
        .map((_, i) => (this.pg ? `($${2 * i + 1}, $${2 * i + 2}, now() AT TIME ZONE 'UTC')` : '(?, ?, ?)'))
        .join(', ');
      const now = new Date();
      const values = part.flatMap((v) => (this.pg ? [v.userId, v.designId] : [v.userId, v.designId, now]));
      await tx.$executeRawUnsafe(`INSERT INTO "Vote" ("userId", "designId", "createdAt") VALUES ${rows}`, ...values);
    }
  }
}

/**
 * Reads the votes in `scope`, hands them to `decide` (which returns the votes that must exist
 * afterwards, within the same scope) and writes the difference, all in one transaction. A
 * concurrent writer in another process (a unique violation, or SQLite's busy snapshot) makes the
 * whole batch retry on fresh data, so the result is always applied to what is really stored.
 */
export async function applyVoteBatch(
  db: PrismaClient,
  scope: VoteScope,
  decide: (present: Set<string>) => Set<string>,
  attempts = 3,
): Promise<VoteBatchResult> {
  const sql = new VoteSql(providerOf(db) === 'postgresql');
  const asked = new Set(scope.pairs.map((p) => voteKey(p.designId, p.userId)));
  const whole = new Set(scope.designIds);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.$transaction(async (tx) => {
        const found = new Set<string>();
        if (scope.pairs.length) {
          await sql.read(
            tx,
            scope.pairs.map((p) => p.designId),
            scope.pairs.map((p) => p.userId),
            found,
          );
        }
        if (scope.designIds.length) await sql.read(tx, scope.designIds, undefined, found);
        // Only votes in scope: the pairs read by design x user may include others.
        const present = new Set([...found].filter((k) => asked.has(k) || whole.has(parseKey(k).designId)));
        const wanted = decide(new Set(present));
        const removed = [...present].filter((k) => !wanted.has(k)).map(parseKey);
        const added = [...wanted].filter((k) => !present.has(k)).map(parseKey);
        if (removed.length) await sql.remove(tx, removed);
        if (added.length) await sql.insert(tx, added);
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
