/**
 * The queries community steering needs (Prisma API only, so SQLite and PostgreSQL alike): which
 * designs a guild was shown, their latents (fetched once and cached by the caller: they never
 * change), the guild's vote counts, the checkpoints, and a cheap "did the votes change?" stamp.
 */
import type { PrismaClient } from './generated/client.ts';

/** A shown design's latent and provenance (these never change once stored). */
export interface ShownDesign {
  id: number;
  latent: Uint8Array;
  checkpointVersion: string;
  createdAt: Date;
  /** The message it was shown in (its grid). */
  messageId: string | null;
}

/**
 * Ids of the guild's most recent `limit` designs that were posted (messageId set: a design whose
 * message never went out was never seen), newest first.
 */
export async function shownDesignIds(db: PrismaClient, guildId: string, limit: number): Promise<number[]> {
  const rows = await db.design.findMany({
    where: { guildId, messageId: { not: null } },
    orderBy: { id: 'desc' },
    take: limit,
    select: { id: true },
  });
  return rows.map((r) => r.id);
}

/** Latent bytes, checkpoint and creation time of the given designs (any order). */
export async function designLatents(db: PrismaClient, ids: number[]): Promise<ShownDesign[]> {
  if (ids.length === 0) return [];
  return db.design.findMany({
    where: { id: { in: ids } },
    select: { id: true, latent: true, checkpointVersion: true, createdAt: true, messageId: true },
  });
}

/** Votes per design of the guild (designs without votes are absent). */
export async function guildVoteCounts(db: PrismaClient, guildId: string): Promise<Map<number, number>> {
  const rows = await db.vote.groupBy({ by: ['designId'], where: { design: { guildId } }, _count: { _all: true } });
  return new Map(rows.map((r) => [r.designId, r._count._all]));
}

/** Checkpoint rows with when they were recorded and their status (served ones are active/retired). */
export async function checkpointHistory(
  db: PrismaClient,
): Promise<{ version: string; createdAt: Date; status: string }[]> {
  return db.checkpoint.findMany({ select: { version: true, createdAt: true, status: true }, orderBy: { id: 'asc' } });
}

/**
 * Changes whenever a vote on one of the guild's designs is added or removed (count + newest id),
 * including votes stored by another bot process sharing the database.
 */
export async function guildVoteStamp(db: PrismaClient, guildId: string): Promise<string> {
  const r = await db.vote.aggregate({ where: { design: { guildId } }, _count: { _all: true }, _max: { id: true } });
  return `${r._count._all}:${r._max.id ?? 0}`;
}
