/**
 * checkpoint.json read back (its own checksum, its format and its configuration checked) and
 * rewritten with new metrics. The format and how it is written are in checkpoint.ts.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import {
  CHECKPOINT_FORMAT,
  CheckpointError,
  META_FILE,
  sealMeta,
  sha256,
  versionDir,
  writeFileSynced,
  type CheckpointMeta,
} from './checkpoint.ts';
import { validateGanConfig } from './model.ts';
import type { CheckpointMetrics } from './quality.ts';

/** Replaces a checkpoint's metrics (e.g. after `npm run eval`), atomically. */
export async function updateCheckpointMetrics(
  modelsDir: string,
  version: string,
  metrics: CheckpointMetrics,
): Promise<void> {
  const dir = versionDir(modelsDir, version);
  const meta = await readMeta(dir, version);
  meta.metrics = { ...meta.metrics, ...metrics };
  const tmp = path.join(dir, `${META_FILE}.tmp-${process.pid}`);
  await writeFileSynced(tmp, sealMeta(meta));
  await fsp.rename(tmp, path.join(dir, META_FILE));
}

/**
 * Reads `<dir>/checkpoint.json` of checkpoint `version` and checks its own
 * checksum, its format and its configuration; throws CheckpointError naming
 * the file otherwise. Weights are not read (see checkpoint-load.ts).
 */
export async function readMeta(dir: string, version: string): Promise<CheckpointMeta> {
  const file = path.join(dir, META_FILE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      code === 'ENOENT'
        ? `checkpoint ${version} not found (no ${file})`
        : `checkpoint ${version}: ${file} unreadable (${(err as Error).message})`,
    );
  }
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(text) as CheckpointMeta;
  } catch {
    throw new CheckpointError(`checkpoint ${version} is corrupted: ${META_FILE} is not valid JSON`);
  }
  const { sha256: claimed, ...body } = meta;
  if (!claimed || sha256(JSON.stringify(body)) !== claimed) {
    throw new CheckpointError(`checkpoint ${version} is corrupted: ${META_FILE} does not match its checksum`);
  }
  if (meta.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      `checkpoint ${version} has format ${meta.format}; this shoebot reads format ${CHECKPOINT_FORMAT}`,
    );
  }
  try {
    validateGanConfig(meta.config);
  } catch (err) {
    throw new CheckpointError(`checkpoint ${version}: ${(err as Error).message}`);
  }
  return meta;
}
