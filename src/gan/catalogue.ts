/**
 * The checkpoints under `<MODELS_DIR>/checkpoints` as a collection: listing
 * them, finding the newest (or best) one that verifies, activating one after
 * verifying it, and choosing the one a training run continues from when the
 * active one is unusable. One checkpoint's files: src/gan/checkpoint.ts and
 * checkpoint-load.ts; the manifest: src/gan/manifest.ts.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { GanConfig } from './model.ts';
import type { CheckpointMetrics } from './quality.ts';
import { readMeta } from './checkpoint-meta.ts';
import { checkpointsDir, checkVersion, isVersionName } from './checkpoint.ts';
import { verifyCheckpoint } from './checkpoint-load.ts';
import { readManifest, recordActiveVersion, type Manifest } from './manifest.ts';

export interface CheckpointSummary {
  version: string;
  dir: string;
  step: number;
  createdAt: string;
  config: GanConfig;
  metrics: CheckpointMetrics;
  parent?: string;
  active: boolean;
  /** Set when checkpoint.json could not be read; the checkpoint is unusable. */
  error?: string;
}

/**
 * Makes `version` the active checkpoint (after verifying it loads), keeping
 * any other fields of the manifest. Atomic (temp file + rename).
 */
export async function setActiveCheckpoint(
  modelsDir: string,
  version: string,
  opts: { verify?: boolean } = {},
): Promise<void> {
  checkVersion(version);
  if (opts.verify !== false) await verifyCheckpoint(modelsDir, version);
  await recordActiveVersion(modelsDir, version);
}

/** All checkpoints under `<modelsDir>/checkpoints`, oldest first (by creation time). */
export async function listCheckpoints(modelsDir: string): Promise<CheckpointSummary[]> {
  const root = checkpointsDir(modelsDir);
  let names: string[];
  try {
    names = (await fsp.readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const active = (await readManifest(modelsDir).catch(() => ({ active: null }) as Manifest)).active;
  const out: CheckpointSummary[] = [];
  for (const name of names) {
    if (!isVersionName(name)) continue;
    const dir = path.join(root, name);
    try {
      const meta = await readMeta(dir, name);
      out.push({
        version: name,
        dir,
        step: meta.step,
        createdAt: meta.createdAt,
        config: meta.config,
        metrics: meta.metrics,
        ...(meta.parent ? { parent: meta.parent } : {}),
        active: name === active,
      });
    } catch (err) {
      out.push({
        version: name,
        dir,
        step: -1,
        createdAt: '',
        config: undefined as unknown as GanConfig,
        metrics: {},
        active: name === active,
        error: (err as Error).message,
      });
    }
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.version.localeCompare(b.version));
}

/**
 * The newest checkpoint (by creation time) that fully verifies (checksums,
 * shapes, optimizer state), skipping versions in `opts.exclude`; undefined
 * when none does. No tensors escape (everything loaded is disposed).
 */
export async function newestValidCheckpoint(
  modelsDir: string,
  opts: { exclude?: string[]; accept?: (c: CheckpointSummary) => boolean; order?: 'newest' | 'best-quality' } = {},
): Promise<string | undefined> {
  const exclude = new Set(opts.exclude ?? []);
  const list = (await listCheckpoints(modelsDir)).reverse();
  if (opts.order === 'best-quality') {
    // Lower KID first (then FID); checkpoints without figures last, newest first among equals.
    const score = (c: CheckpointSummary): number =>
      c.metrics.kid ?? (c.metrics.fid !== undefined ? 1e6 + c.metrics.fid : Infinity);
    list.sort((a, b) => score(a) - score(b));
  }
  for (const c of list) {
    if (c.error || exclude.has(c.version) || (opts.accept && !opts.accept(c))) continue;
    try {
      await verifyCheckpoint(modelsDir, c.version);
      return c.version;
    } catch {
      // unusable: try the next one
    }
  }
  return undefined;
}

export interface ResumeChoice {
  /** Version to continue from; undefined = train from scratch. */
  version?: string;
  /** The active version when it was unusable and skipped. */
  skipped?: string;
  /** One line for the user/log when the active checkpoint could not be used. */
  warning?: string;
}

/**
 * Picks the checkpoint to continue from when no version was named: the active
 * one if it verifies; otherwise (corrupted, missing, bad manifest) the newest
 * checkpoint that verifies, or none (from scratch). No tensors escape.
 */
export async function chooseResumeCheckpoint(modelsDir: string): Promise<ResumeChoice> {
  let active: string | undefined;
  let problem: string | undefined;
  try {
    active = (await readManifest(modelsDir)).active ?? undefined;
  } catch (err) {
    problem = (err as Error).message;
  }
  if (active) {
    try {
      await verifyCheckpoint(modelsDir, active);
      return { version: active };
    } catch (err) {
      problem = (err as Error).message;
    }
  }
  if (!problem) return {};
  const fallback = await newestValidCheckpoint(modelsDir, { exclude: active ? [active] : [] });
  const warning = `${problem}; ${fallback ? `continuing from the newest valid checkpoint ${fallback} instead` : 'no valid checkpoint left, training from scratch'}`;
  return { ...(fallback ? { version: fallback } : {}), ...(active ? { skipped: active } : {}), warning };
}
