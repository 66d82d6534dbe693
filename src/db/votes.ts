/**
 * Votes: one per member per design (the `@@unique([userId, designId])` constraint enforces it, even
 * across processes). Adding twice is a no-op, removing an absent vote too: reaction events can be
 * replayed or arrive twice, and neither may surface as an error.
 */
import { providerOf } from './client.ts';
import type { PrismaClient } from './generated/client.ts';
import { DesignNotFoundError, isForeignKeyViolation, isUniqueViolation } from './errors.ts';

export interface VoteKey {
  /** Discord user id of the voter. */
  userId: string;
  designId: number;
}

/**
 * Records a vote in its own transaction. Returns 'duplicate' (writing nothing) when the member had
 * already voted for the design; throws DesignNotFoundError if the design does not exist.
 */
export async function addVote(db: PrismaClient, { userId, designId }: VoteKey): Promise<'added' | 'duplicate'> {
  if (providerOf(db) === 'postgresql') {
    // One statement that cannot fail on a duplicate: Prisma's error path for a caught unique
    // violation costs ~25 ms on PostgreSQL, ten times this insert. createdAt is UTC, as Prisma
    // writes it (the column has no time zone; the server's own may not be UTC).
    try {
      const inserted = await db.$executeRaw`
        INSERT INTO "Vote" ("userId", "designId", "createdAt") VALUES (${userId}, ${designId}, now() AT TIME ZONE 'UTC')
        ON CONFLICT ("userId", "designId") DO NOTHING`;
      return inserted === 1 ? 'added' : 'duplicate';
    } catch (e) {
      if (isForeignKeyViolation(e)) throw new DesignNotFoundError(designId);
      throw e;
    }
  }
  try {
    await db.$transaction([db.vote.create({ data: { userId, designId }, select: { id: true } })]);
    return 'added';
  } catch (e) {
    if (isUniqueViolation(e, ['userId', 'designId'])) return 'duplicate';
    if (isForeignKeyViolation(e)) throw new DesignNotFoundError(designId);
    throw e;
  }
}

/** Deletes a member's vote (reaction removed). Returns 'absent' when there was none. */
export async function removeVote(db: PrismaClient, { userId, designId }: VoteKey): Promise<'removed' | 'absent'> {
  const { count } = await db.vote.deleteMany({ where: { userId, designId } });
  return count > 0 ? 'removed' : 'absent';
}

/** Number of votes a design has. */
export async function countVotes(db: PrismaClient, designId: number): Promise<number> {
  return db.vote.count({ where: { designId } });
}

/** Vote counts for several designs at once (e.g. one grid); designs without votes map to 0. */
export async function countVotesFor(db: PrismaClient, designIds: number[]): Promise<Map<number, number>> {
  const counts = new Map<number, number>(designIds.map((id) => [id, 0]));
  if (designIds.length === 0) return counts;
  const rows = await db.vote.groupBy({
    by: ['designId'],
    where: { designId: { in: designIds } },
    _count: { _all: true },
  });
  for (const r of rows) counts.set(r.designId, r._count._all);
  return counts;
}
