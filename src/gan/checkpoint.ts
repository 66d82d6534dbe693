/**
 * The checkpoint format, and writing it. One directory per version under
 * `<MODELS_DIR>/checkpoints/`:
 *
 *   checkpoint.json           metadata + trainer state + sha256 of every other file
 *                             (and of itself, minus the `sha256` field)
 *   generator/model.json      TF.js layers format (loadable by tf.loadLayersModel
 *   generator/weights.bin      elsewhere too; src/gan/layers-files.ts)
 *   discriminator/model.json
 *   discriminator/weights.bin
 *   optimizer.bin             float32: G's Adam m then v, D's Adam m then v
 *
 * A checkpoint is written into `<MODELS_DIR>/.tmp-<version>-<pid>` and renamed
 * into place, so a crash never leaves a half checkpoint under checkpoints/.
 * Reading checkpoint.json back is src/gan/checkpoint-meta.ts, loading and verifying the rest
 * src/gan/checkpoint-load.ts (which refuses anything but this format with a message naming
 * the file); which version is
 * active is src/gan/manifest.ts; the collection of checkpoints is
 * src/gan/catalogue.ts.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { GanConfig } from './model.ts';
import type { GanTrainState, RunningMeans } from './train-step.ts';
import type { AdamSnapshot } from './adam.ts';
import type { TrainOptions } from './recipe.ts';
import type { RngState } from './latent.ts';
import type { TrainProgress } from './protocol.ts';
import type { CheckpointMetrics } from './quality.ts';
import { serializeModel } from './layers-files.ts';

export const CHECKPOINT_FORMAT = 1;
export const META_FILE = 'checkpoint.json';
/** The raw generator of a checkpoint whose generator/ holds a weight average. */
export const TRAINING_GENERATOR = 'generator-train';

/** One logging window, kept for loss plots: the figures of a progress report that stay meaningful later. */
export type HistoryPoint = Pick<
  TrainProgress,
  'step' | 'lossD' | 'lossG' | 'dReal' | 'dFake' | 'freezeRate' | 'imagesPerSecond'
>;

/** Everything besides tensors needed to continue a run exactly. */
export interface TrainerStateMeta {
  step: number;
  freezeCount: number;
  running: RunningMeans;
  /** Latent noise RNG (advanced every step). */
  noiseRng: RngState;
  /** Data-order RNG as it was before drawing the current epoch's permutation. */
  epochRng: RngState;
  epoch: number;
  /** Batches of the current epoch already consumed. */
  batchInEpoch: number;
  /** Seed the run (models' init, RNGs) started from. */
  seed: number;
  /** Seed the noise/data-order RNGs were redrawn from when this run started (bot runs); none for an exact resume. */
  runSeed?: number;
  trainOptions: TrainOptions;
  datasetFingerprint: string;
  datasetName?: string;
  /** Wall-clock seconds of training over the model's life. */
  trainSeconds: number;
  backend?: string;
  history: HistoryPoint[];
}

export interface CheckpointMeta {
  format: number;
  version: string;
  createdAt: string;
  step: number;
  config: GanConfig;
  metrics: CheckpointMetrics;
  /** Version this one continued from (none for a run from scratch). */
  parent?: string;
  trainer: TrainerStateMeta;
  optimizer: {
    g: { t: number; sizes: number[] };
    d: { t: number; sizes: number[] };
  };
  /**
   * 'recomputed': the served weight average's batch-norm statistics were computed for its own
   * weights (batch-norm-stats.ts). Absent on a weight average: copied from the raw generator
   * (checkpoints before 2026-12-03 evening), which fits it badly; loadGeneratorCheckpoint can fix that in memory.
   */
  servedBatchNorm?: 'recomputed';
  /** sha256 (hex) of every file except checkpoint.json, by relative path. */
  files: Record<string, string>;
  /** sha256 of this JSON without this field. */
  sha256?: string;
}

/** Thrown for any unusable checkpoint; the message says which and why. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** sha256 (hex) of bytes or text: the checksums of checkpoint.json. */
export const sha256 = (data: Uint8Array | string): string => crypto.createHash('sha256').update(data).digest('hex');

/** `<modelsDir>/checkpoints`, the parent of every version's directory. */
export function checkpointsDir(modelsDir: string): string {
  return path.join(modelsDir, 'checkpoints');
}

const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$/;

/** Whether `name` can be a checkpoint version (a plain folder name: no path separators, no leading dot). */
export const isVersionName = (name: string): boolean => VERSION_RE.test(name);

/** Throws CheckpointError unless `version` is a valid version name. */
export function checkVersion(version: string): void {
  if (!isVersionName(version)) throw new CheckpointError(`invalid checkpoint version "${version}"`);
}

/** The directory of checkpoint `version` (refusing names that are not versions, e.g. `../x`). */
export function versionDir(modelsDir: string, version: string): string {
  checkVersion(version);
  return path.join(checkpointsDir(modelsDir), version);
}

/** A new, sortable version name: `YYYYMMDD-HHMMSS-s<step>`. */
export function newVersionName(step: number, now = new Date()): string {
  const iso = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${iso}-s${String(step).padStart(6, '0')}`;
}

// ---------------------------------------------------------------- writing

/** Writes `data` to `file` and fsyncs it (the rename that follows must not publish an empty file after a crash). */
export async function writeFileSynced(file: string, data: Uint8Array | string): Promise<void> {
  const fh = await fsp.open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** checkpoint.json's text: the metadata with the sha256 of its own JSON (without that field). */
export function sealMeta(meta: CheckpointMeta): string {
  const { sha256: _drop, ...body } = meta;
  const text = JSON.stringify(body);
  return JSON.stringify({ ...body, sha256: sha256(text) }, null, 1);
}

function floatBytes(arrays: Float32Array[]): Uint8Array {
  const total = arrays.reduce((n, a) => n + a.length, 0);
  const out = new Float32Array(total);
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return new Uint8Array(out.buffer);
}

export interface SaveCheckpointInput {
  state: GanTrainState;
  config: GanConfig;
  trainer: Omit<TrainerStateMeta, 'step' | 'freezeCount' | 'running' | 'trainOptions'>;
  metrics?: CheckpointMetrics;
  parent?: string;
  /** See CheckpointMeta.servedBatchNorm. */
  servedBatchNorm?: 'recomputed';
  /** Defaults to newVersionName(step). */
  version?: string;
}

/**
 * Writes a complete checkpoint (generator, discriminator, both Adam states,
 * trainer state) atomically. Does not change the active version.
 * Returns the version name and its directory.
 */
export async function saveCheckpoint(
  modelsDir: string,
  input: SaveCheckpointInput,
): Promise<{ version: string; dir: string }> {
  const { state } = input;
  const root = checkpointsDir(modelsDir);
  await fsp.mkdir(root, { recursive: true });
  const version = freeVersion(root, input.version, state.step);
  const tmp = path.join(modelsDir, `.tmp-${version}-${process.pid}`);
  await fsp.rm(tmp, { recursive: true, force: true });
  await fsp.mkdir(path.join(tmp, 'generator'), { recursive: true });
  await fsp.mkdir(path.join(tmp, 'discriminator'), { recursive: true });
  if (state.ema) await fsp.mkdir(path.join(tmp, TRAINING_GENERATOR), { recursive: true });
  try {
    const { files, og, od } = await checkpointFiles(state);
    const hashes: Record<string, string> = {};
    for (const [rel, data] of Object.entries(files)) {
      await writeFileSynced(path.join(tmp, rel), data);
      hashes[rel] = sha256(data);
    }
    await writeFileSynced(path.join(tmp, META_FILE), sealMeta(checkpointMeta(input, version, og, od, hashes)));
    await fsp.rename(tmp, path.join(root, version));
    return { version, dir: path.join(root, version) };
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The version to save as: the one asked for (which must not exist yet), or a new name for
 * `step`, suffixed -2, -3, … while taken.
 */
function freeVersion(root: string, asked: string | undefined, step: number): string {
  let version = asked ?? newVersionName(step);
  checkVersion(version);
  if (!asked) {
    for (let i = 2; fs.existsSync(path.join(root, version)); i++) version = `${newVersionName(step)}-${i}`;
  } else if (fs.existsSync(path.join(root, version))) {
    throw new CheckpointError(`checkpoint ${version} already exists in ${root}`);
  }
  return version;
}

/** The checkpoint's files by relative path (models and optimizer.bin), and the Adam snapshots in it. */
async function checkpointFiles(
  state: GanTrainState,
): Promise<{ files: Record<string, Uint8Array | string>; og: AdamSnapshot; od: AdamSnapshot }> {
  const files: Record<string, Uint8Array | string> = {};
  // With a weight average, generator/ is the average (what the bot serves) and the raw
  // generator training continues from goes to generator-train/.
  const g = await serializeModel(state.ema ?? state.generator);
  const d = await serializeModel(state.discriminator);
  files['generator/model.json'] = g.modelJson;
  files['generator/weights.bin'] = g.weights;
  if (state.ema) {
    const raw = await serializeModel(state.generator);
    files[`${TRAINING_GENERATOR}/model.json`] = raw.modelJson;
    files[`${TRAINING_GENERATOR}/weights.bin`] = raw.weights;
  }
  files['discriminator/model.json'] = d.modelJson;
  files['discriminator/weights.bin'] = d.weights;
  const og: AdamSnapshot = state.optG.snapshot();
  const od: AdamSnapshot = state.optD.snapshot();
  files['optimizer.bin'] = floatBytes([...og.m, ...og.v, ...od.m, ...od.v]);
  return { files, og, od };
}

/** checkpoint.json's content: what was saved, from which state, and each file's hash. */
function checkpointMeta(
  input: SaveCheckpointInput,
  version: string,
  og: AdamSnapshot,
  od: AdamSnapshot,
  hashes: Record<string, string>,
): CheckpointMeta {
  const { state } = input;
  return {
    format: CHECKPOINT_FORMAT,
    version,
    createdAt: new Date().toISOString(),
    step: state.step,
    config: input.config,
    metrics: input.metrics ?? {},
    ...(input.parent ? { parent: input.parent } : {}),
    ...(input.servedBatchNorm ? { servedBatchNorm: input.servedBatchNorm } : {}),
    trainer: {
      ...input.trainer,
      step: state.step,
      freezeCount: state.freezeCount,
      running: { ...state.running },
      trainOptions: state.opts,
    },
    optimizer: {
      g: { t: og.t, sizes: og.m.map((a) => a.length) },
      d: { t: od.t, sizes: od.m.map((a) => a.length) },
    },
    files: hashes,
  };
}
