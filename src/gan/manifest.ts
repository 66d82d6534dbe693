/**
 * `<MODELS_DIR>/manifest.json`: which checkpoint is active (the one the bot
 * serves and training continues from), written atomically like checkpoints,
 * and what follows from it: the dataset the active model was trained on.
 * Activating a version after verifying it is src/gan/catalogue.ts
 * (setActiveCheckpoint); this module only reads and records the name.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_DATASET } from '../data/dataset.ts';
import {
  CheckpointError,
  checkVersion,
  META_FILE,
  versionDir,
  writeFileSynced,
  type CheckpointMeta,
} from './checkpoint.ts';

const MANIFEST = 'manifest.json';

export interface Manifest {
  active: string | null;
  updatedAt: string;
  [k: string]: unknown;
}

/** Reads manifest.json; `{active: null}` when there is none. */
export async function readManifest(modelsDir: string): Promise<Manifest> {
  const file = path.join(modelsDir, MANIFEST);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { active: null, updatedAt: '' };
    throw new CheckpointError(`${file}: unreadable (${(err as Error).message})`);
  }
  try {
    const m = JSON.parse(text) as Manifest;
    if (m.active !== null && typeof m.active !== 'string') throw new Error('"active" must be a version name or null');
    return m;
  } catch (err) {
    throw new CheckpointError(
      `${file}: invalid (${(err as Error).message}); fix it or run: npm run train -- --activate <version>`,
    );
  }
}

/**
 * Records `version` as the active one in manifest.json, keeping any other
 * fields (an unreadable manifest is replaced). Atomic (temp file + rename).
 * Does not check that the checkpoint loads: callers use setActiveCheckpoint.
 */
export async function recordActiveVersion(modelsDir: string, version: string): Promise<void> {
  checkVersion(version);
  const manifest = await readManifest(modelsDir).catch(() => ({ active: null, updatedAt: '' }) as Manifest);
  const next: Manifest = { ...manifest, active: version, updatedAt: new Date().toISOString() };
  const file = path.join(modelsDir, MANIFEST);
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFileSynced(tmp, JSON.stringify(next, null, 2) + '\n');
  await fsp.rename(tmp, file);
}

/** `version` when given, else the active one; throws CheckpointError (saying how to get one) when there is none. */
export async function resolveVersion(modelsDir: string, version?: string): Promise<string> {
  if (version) return version;
  const m = await readManifest(modelsDir);
  if (!m.active) {
    throw new CheckpointError(
      `no active checkpoint in ${path.join(modelsDir, MANIFEST)}; train one with "npm run train" or activate one with "npm run train -- --activate <version>"`,
    );
  }
  return m.active;
}

/**
 * The dataset the active checkpoint was trained on (its name as imported) and
 * the model's image shape, or undefined without a readable active checkpoint.
 * Synchronous and cheap (two small JSON files): runs continue on the data their model was trained on.
 */
export function activeDataset(modelsDir: string): { name: string; imageSize: number; channels: number } | undefined {
  try {
    const active = (JSON.parse(fs.readFileSync(path.join(modelsDir, MANIFEST), 'utf8')) as Manifest).active;
    if (!active) return undefined;
    // versionDir refuses a hand-edited version that is not a checkpoint name (caught: undefined).
    const meta = JSON.parse(
      fs.readFileSync(path.join(versionDir(modelsDir, active), META_FILE), 'utf8'),
    ) as CheckpointMeta;
    const name = meta.trainer?.datasetName;
    return typeof name === 'string'
      ? { name, imageSize: meta.config.imageSize, channels: meta.config.channels }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The dataset a training run uses: the one named, else, when the run continues the active
 * model, the dataset that model was trained on (so a nightly run never switches a colour
 * model to another set), else DEFAULT_DATASET.
 */
export function runDatasetName(named: string | undefined, modelsDir: string, continuesActive = true): string {
  return named ?? (continuesActive ? activeDataset(modelsDir)?.name : undefined) ?? DEFAULT_DATASET;
}
