/**
 * The quality gate, in two places: before a run's checkpoint is published (qualityVerdict, in the
 * lease holder's scheduler), and as a last check in every process that follows manifest.json
 * (gateRefusal: a manifest that names a checkpoint the gate rejected).
 */
import type { PrismaClient } from '../db/client.ts';
import { compareQuality, type CheckpointMetrics } from '../gan/quality.ts';

/**
 * The hot-swap quality gate: the same comparison as the command line's
 * (compareQuality: KID, else FID, else sneaker share, with relative slack).
 */
export function qualityVerdict(
  candidate: CheckpointMetrics,
  active: CheckpointMetrics | undefined,
  margin: number,
): { accept: boolean; reason: string } {
  if (!active) return { accept: true, reason: 'no active checkpoint to compare with' };
  const { worse, reason } = compareQuality(candidate, active, margin);
  return { accept: !worse, reason };
}

/**
 * Why a process must NOT swap to `version` although manifest.json names it, or undefined.
 * The gate runs before publishing, so the manifest names a rejected checkpoint only when (a) a
 * writer bypassed the gate (e.g. a trainer started with --activate-result) or (b) an operator
 * activated it on purpose after the rejection (`npm run train -- --activate V`). (b) is followed,
 * (a) is refused: the manifest must have been written after the run that produced the checkpoint
 * had ended (its gate had decided).
 */
export async function gateRefusal(
  db: PrismaClient,
  version: string,
  manifestUpdatedAt: string | undefined,
): Promise<string | undefined> {
  const row = await db.checkpoint.findUnique({ where: { version } });
  if (row?.status !== 'rejected') return undefined;
  const run = await db.trainingRun.findFirst({ where: { checkpointVersion: version }, orderBy: { id: 'desc' } });
  const written = manifestUpdatedAt ? Date.parse(manifestUpdatedAt) : NaN;
  if (run?.endedAt && Number.isFinite(written) && written > run.endedAt.getTime()) return undefined;
  if (!run && Number.isFinite(written) && written > row.createdAt.getTime()) return undefined;
  return `the quality gate rejected it (${row.note ?? 'no reason recorded'})`;
}
