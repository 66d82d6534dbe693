/**
 * The lease service in a process that serves no generator (the standalone `npm run trainer`, the
 * shard manager): opens the database unless given, starts the service, and stops it gracefully
 * (checkpoint, lease released, database closed if opened here).
 */
import { openDatabase, type PrismaClient } from '../db/client.ts';
import { LeaseService, type LeaseServiceOptions } from './lease-service.ts';
import type { TrainingScheduler } from './scheduler.ts';

export interface StartLeaseServiceOptions extends Omit<LeaseServiceOptions, 'db'> {
  /** Default: openDatabase(config.DATABASE_URL), closed by stop(). */
  db?: PrismaClient;
}

export interface LeaseServiceHandle {
  readonly service: LeaseService;
  readonly scheduler: TrainingScheduler;
  readonly holding: boolean;
  readonly ownerId: string;
  whenHolding(): Promise<void>;
  /** Graceful: checkpoint, release the lease, close the database if this call opened it. */
  stop(): Promise<void>;
}

/**
 * Starts the lease service in a process that serves no generator (the shard manager, the
 * standalone `npm run trainer`). Throws with TRAINER_MODE=off.
 */
export async function startLeaseService(opts: StartLeaseServiceOptions): Promise<LeaseServiceHandle> {
  const ownsDb = !opts.db;
  const db = opts.db ?? (await openDatabase(opts.config.DATABASE_URL));
  let service: LeaseService;
  try {
    service = new LeaseService({ ...opts, db });
    await service.start();
  } catch (err) {
    if (ownsDb) await db.$disconnect();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    service,
    scheduler: service.scheduler,
    get holding() {
      return service.holding;
    },
    ownerId: service.ownerId,
    whenHolding: () => service.whenHolding(),
    stop: () =>
      (stopping ??= (async () => {
        await service.stop();
        if (ownsDb) await db.$disconnect();
      })()),
  };
}
