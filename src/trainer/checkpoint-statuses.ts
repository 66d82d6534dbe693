/**
 * Checkpoints on disk with their quality figures and the statuses the database records, as /train
 * status lists them. Any bot process can build the list: MODELS_DIR and the database are shared.
 */
import type { PrismaClient } from '../db/client.ts';
import { listCheckpoints, type CheckpointSummary } from '../gan/catalogue.ts';

export type CheckpointStatus = CheckpointSummary & { status: string; note?: string | null };

/** The checkpoints under `modelsDir`, oldest first, as seen by a process serving `served`. */
export async function checkpointStatuses(
  modelsDir: string,
  db: PrismaClient,
  served: string | undefined,
): Promise<CheckpointStatus[]> {
  const list = await listCheckpoints(modelsDir);
  const rows = await db.checkpoint.findMany();
  const byVersion = new Map(rows.map((r) => [r.version, r]));
  return list.map((c) => {
    const row = byVersion.get(c.version);
    const status =
      c.version === served
        ? 'active'
        : ((row?.status === 'active' ? 'retired' : row?.status) ?? (c.error ? 'unusable' : 'candidate'));
    return { ...c, status, note: row?.note };
  });
}
