/**
 * The trainer lease and admins' trainer requests (TrainerLease, TrainerRequest) as the trainer
 * service (src/trainer) uses them. Every state change is ONE conditional statement (insert on the
 * primary key, or an update whose WHERE names the state it expects), so two processes — on one
 * machine or several, SQLite or PostgreSQL — can never both believe they took the lease: the
 * database serialises the writes and the loser's statement matches no row.
 */
import type { PrismaClient, TrainerLease, TrainerRequest } from './generated/client.ts';
import { isUniqueViolation } from './errors.ts';

export type { TrainerLease, TrainerRequest };

/** The one lease row's key. */
export const LEASE_NAME = 'trainer';
/** ownerId of a released lease: free for anyone. */
export const NO_OWNER = '';

export type TrainerAction = 'run' | 'stop' | 'rollback';
export type RequestOutcome = 'done' | 'refused' | 'failed';

/** The lease row, or null when no process ever took it. */
export async function readLease(db: PrismaClient): Promise<TrainerLease | null> {
  return db.trainerLease.findUnique({ where: { name: LEASE_NAME } });
}

/** Creates the lease row for `ownerId`; false when the row exists already (someone else was first). */
export async function createLease(
  db: PrismaClient,
  owner: { ownerId: string; ownerHost: string; heartbeatAt: Date; snapshot?: string },
): Promise<boolean> {
  try {
    await db.trainerLease.create({ data: { name: LEASE_NAME, ...owner } });
    return true;
  } catch (e) {
    if (isUniqueViolation(e)) return false;
    throw e;
  }
}

/**
 * Takes the lease over from the exact state `from` (a released lease, or a holder whose heartbeat
 * stopped at `from.heartbeatAt`). True only for the one process whose update matched.
 */
export async function takeLease(
  db: PrismaClient,
  from: { ownerId: string; heartbeatAt: Date },
  owner: { ownerId: string; ownerHost: string; heartbeatAt: Date; snapshot?: string },
): Promise<boolean> {
  const r = await db.trainerLease.updateMany({
    where: { name: LEASE_NAME, ownerId: from.ownerId, heartbeatAt: from.heartbeatAt },
    data: owner,
  });
  return r.count === 1;
}

/** Heartbeat (and optionally a new snapshot) of the holder; false when `ownerId` no longer holds it. */
export async function heartbeatLease(
  db: PrismaClient,
  ownerId: string,
  heartbeatAt: Date,
  snapshot?: string,
): Promise<boolean> {
  const r = await db.trainerLease.updateMany({
    where: { name: LEASE_NAME, ownerId },
    data: { heartbeatAt, ...(snapshot !== undefined ? { snapshot } : {}) },
  });
  return r.count === 1;
}

/** Gives the lease up (if still held by `ownerId`), leaving a last snapshot for readers. */
export async function releaseLease(
  db: PrismaClient,
  ownerId: string,
  heartbeatAt: Date,
  snapshot?: string,
): Promise<boolean> {
  const r = await db.trainerLease.updateMany({
    where: { name: LEASE_NAME, ownerId },
    data: { ownerId: NO_OWNER, heartbeatAt, ...(snapshot !== undefined ? { snapshot } : {}) },
  });
  return r.count === 1;
}

/** Queues an admin's request for the lease holder. */
export async function createTrainerRequest(
  db: PrismaClient,
  req: { action: TrainerAction; argument?: string | null; requestedBy: string },
): Promise<TrainerRequest> {
  return db.trainerRequest.create({
    data: { action: req.action, argument: req.argument ?? null, requestedBy: req.requestedBy },
  });
}

/** Requests nobody has handled yet, oldest first. */
export async function pendingTrainerRequests(db: PrismaClient, limit = 20): Promise<TrainerRequest[]> {
  return db.trainerRequest.findMany({ where: { handledAt: null }, orderBy: { id: 'asc' }, take: limit });
}

/** Claims a request for execution; false when another process claimed it first. */
export async function claimTrainerRequest(db: PrismaClient, id: number, at: Date): Promise<boolean> {
  const r = await db.trainerRequest.updateMany({ where: { id, handledAt: null }, data: { handledAt: at } });
  return r.count === 1;
}

/** Writes a claimed request's outcome (what the admin is told). */
export async function finishTrainerRequest(
  db: PrismaClient,
  id: number,
  outcome: RequestOutcome,
  message: string,
): Promise<void> {
  await db.trainerRequest.update({ where: { id }, data: { outcome, message: message.slice(0, 1900) } });
}

export async function getTrainerRequest(db: PrismaClient, id: number): Promise<TrainerRequest | null> {
  return db.trainerRequest.findUnique({ where: { id } });
}

/** Deletes requests handled before `before` (they only matter while an admin waits for the outcome). */
export async function pruneTrainerRequests(db: PrismaClient, before: Date): Promise<number> {
  const r = await db.trainerRequest.deleteMany({ where: { handledAt: { lt: before } } });
  return r.count;
}
