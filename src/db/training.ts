/**
 * Training runs and checkpoints as the trainer and `/train status` see them. The checkpoint files
 * live under MODELS_DIR (src/gan/checkpoint.ts); these rows are their history and status.
 */
import type { Checkpoint, PrismaClient, TrainingRun } from './generated/client.ts';

export type { Checkpoint, TrainingRun };
export type RunTrigger = 'cron' | 'admin' | 'cli';
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'stopped';
export type CheckpointStatus = 'active' | 'candidate' | 'rejected' | 'retired';

/** Opens a run (status 'running'). */
export async function startTrainingRun(
  db: PrismaClient,
  opts: { trigger?: RunTrigger; startStep?: number } = {},
): Promise<TrainingRun> {
  return db.trainingRun.create({ data: { trigger: opts.trigger ?? 'cron', startStep: opts.startStep ?? 0 } });
}

export interface RunSummary {
  steps: number;
  lossD?: number | null;
  lossG?: number | null;
  freezeCount?: number;
  imagesPerSecond?: number | null;
  checkpointVersion?: string | null;
}

/** Closes a run successfully (or as 'stopped' when an admin interrupted it) with its summary. */
export async function finishTrainingRun(
  db: PrismaClient,
  id: number,
  summary: RunSummary,
  status: 'succeeded' | 'stopped' = 'succeeded',
): Promise<TrainingRun> {
  return db.trainingRun.update({ where: { id }, data: { ...summary, status, endedAt: new Date() } });
}

/** Closes a run as failed, keeping the error text and whatever progress was made. */
export async function failTrainingRun(
  db: PrismaClient,
  id: number,
  error: string,
  partial: Partial<RunSummary> = {},
): Promise<TrainingRun> {
  return db.trainingRun.update({
    where: { id },
    data: { ...partial, status: 'failed', error: error.slice(0, 4000), endedAt: new Date() },
  });
}

/**
 * Marks runs still 'running' as failed: after a crash or restart nothing is running any more.
 * Call it when the trainer starts; returns how many runs it closed.
 */
export async function failInterruptedRuns(db: PrismaClient, error = 'interrupted (process exited)'): Promise<number> {
  const { count } = await db.trainingRun.updateMany({
    where: { status: 'running' },
    data: { status: 'failed', error, endedAt: new Date() },
  });
  return count;
}

/** Latest runs first. */
export async function recentTrainingRuns(db: PrismaClient, limit = 10): Promise<TrainingRun[]> {
  return db.trainingRun.findMany({ orderBy: [{ startedAt: 'desc' }, { id: 'desc' }], take: limit });
}

export interface CheckpointInfo {
  version: string;
  step: number;
  kid?: number | null;
  fid?: number | null;
  sneakerShare?: number | null;
  status?: CheckpointStatus;
  note?: string | null;
}

/** Inserts or updates a checkpoint by version (metrics may arrive after the files are written). */
export async function upsertCheckpoint(db: PrismaClient, info: CheckpointInfo): Promise<Checkpoint> {
  const { version, ...rest } = info;
  return db.checkpoint.upsert({ where: { version }, create: info, update: rest });
}

/**
 * Sets a checkpoint's status. Making one 'active' retires the previously active one in the same
 * transaction, so exactly one is active afterwards.
 */
export async function setCheckpointStatus(
  db: PrismaClient,
  version: string,
  status: CheckpointStatus,
): Promise<Checkpoint> {
  if (status !== 'active') return db.checkpoint.update({ where: { version }, data: { status } });
  const [, active] = await db.$transaction([
    db.checkpoint.updateMany({ where: { status: 'active', version: { not: version } }, data: { status: 'retired' } }),
    db.checkpoint.update({ where: { version }, data: { status: 'active' } }),
  ]);
  return active;
}

/** Checkpoints, newest first, optionally of one status. */
export async function listCheckpoints(
  db: PrismaClient,
  opts: { status?: CheckpointStatus; limit?: number } = {},
): Promise<Checkpoint[]> {
  return db.checkpoint.findMany({
    where: opts.status ? { status: opts.status } : {},
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: opts.limit,
  });
}

/** The active checkpoint, or null before the first one is promoted. */
export async function activeCheckpoint(db: PrismaClient): Promise<Checkpoint | null> {
  return db.checkpoint.findFirst({ where: { status: 'active' }, orderBy: { id: 'desc' } });
}
