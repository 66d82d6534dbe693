/**
 * Reading checkpoints (format: src/gan/checkpoint.ts): the generator to serve,
 * everything needed to resume training, or just a verification. Every file is
 * checked against the sha256 in checkpoint.json, every model against its
 * configuration's shapes; anything else is refused with a CheckpointError
 * naming the file. A version left out means the active one (manifest.json).
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { tf } from '../tf/index.ts';
import type { GanConfig } from './model.ts';
import type { AdamSnapshot } from './adam.ts';
import type { CheckpointMetrics } from './quality.ts';
import {
  CheckpointError,
  META_FILE,
  sha256,
  TRAINING_GENERATOR,
  versionDir,
  type CheckpointMeta,
} from './checkpoint.ts';
import { readMeta } from './checkpoint-meta.ts';
import { recomputeBatchNormStats } from './batch-norm-stats.ts';
import { resolveVersion } from './manifest.ts';

/** Builds a layers model from model.json text + weights bytes (written by serializeModel, src/gan/layers-files.ts). */
export async function deserializeModel(modelJson: string, weights: Uint8Array, what: string): Promise<tf.LayersModel> {
  let parsed: { modelTopology?: object; weightsManifest?: { weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    parsed = JSON.parse(modelJson);
  } catch (err) {
    throw new CheckpointError(`${what}/model.json is not valid JSON (${(err as Error).message})`);
  }
  if (!parsed.modelTopology || !Array.isArray(parsed.weightsManifest)) {
    throw new CheckpointError(`${what}/model.json is not a TF.js layers model`);
  }
  const weightSpecs = parsed.weightsManifest.flatMap((g) => g.weights);
  // Copy into a standalone ArrayBuffer: a Node Buffer may be a slice of a larger pool.
  const weightData = weights.slice().buffer as ArrayBuffer;
  try {
    return await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: parsed.modelTopology, weightSpecs, weightData }));
  } catch (err) {
    throw new CheckpointError(`${what}: cannot rebuild the model (${(err as Error).message})`);
  }
}

function checkModelShapes(
  model: tf.LayersModel,
  cfg: GanConfig,
  kind: 'generator' | 'discriminator',
  where: string,
): void {
  const S = cfg.imageSize;
  const C = cfg.channels;
  const want =
    kind === 'generator' ? { in: [null, cfg.nz], out: [null, S, S, C] } : { in: [null, S, S, C], out: [null, 1] };
  const got = { in: model.inputs[0]?.shape, out: model.outputs[0]?.shape };
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new CheckpointError(
      `${where}: ${kind} maps ${JSON.stringify(got.in)} -> ${JSON.stringify(got.out)}, ` +
        `but its configuration ${JSON.stringify(cfg)} needs ${JSON.stringify(want.in)} -> ${JSON.stringify(want.out)}`,
    );
  }
}

async function readVerified(dir: string, version: string, meta: CheckpointMeta, rel: string): Promise<Buffer> {
  const expected = meta.files[rel];
  if (!expected) throw new CheckpointError(`checkpoint ${version} is incomplete: ${rel} is not listed in ${META_FILE}`);
  let data: Buffer;
  try {
    data = await fsp.readFile(path.join(dir, rel));
  } catch {
    throw new CheckpointError(`checkpoint ${version} is incomplete: ${rel} is missing`);
  }
  if (sha256(data) !== expected) {
    throw new CheckpointError(
      `checkpoint ${version} is corrupted: ${rel} does not match its sha256 checksum; roll back to another version`,
    );
  }
  return data;
}

async function loadNet(
  dir: string,
  version: string,
  meta: CheckpointMeta,
  kind: 'generator' | 'discriminator' | typeof TRAINING_GENERATOR,
): Promise<tf.LayersModel> {
  const json = await readVerified(dir, version, meta, `${kind}/model.json`);
  const weights = await readVerified(dir, version, meta, `${kind}/weights.bin`);
  const model = await deserializeModel(json.toString('utf8'), weights, `checkpoint ${version}: ${kind}`);
  try {
    checkModelShapes(model, meta.config, kind === 'discriminator' ? kind : 'generator', `checkpoint ${version}`);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

export interface LoadedGenerator {
  model: tf.LayersModel;
  config: GanConfig;
  version: string;
  step: number;
  metrics: CheckpointMetrics;
  createdAt: string;
}

/**
 * Loads a checkpoint's generator (default: the active one) after verifying
 * its checksums and shapes. The caller owns (and disposes) `model`.
 * `recomputeCopiedBatchNorm`: a served weight average from before
 * CheckpointMeta.servedBatchNorm gets its own batch-norm statistics in memory,
 * so old and new checkpoints can be compared (benchmarks). Off by default:
 * the bot draws an old checkpoint as it always did (same seed, same image).
 */
export async function loadGeneratorCheckpoint(
  modelsDir: string,
  version?: string,
  opts: { weights?: 'served' | 'training'; recomputeCopiedBatchNorm?: boolean } = {},
): Promise<LoadedGenerator> {
  const v = await resolveVersion(modelsDir, version);
  const dir = versionDir(modelsDir, v);
  const meta = await readMeta(dir, v);
  const averaged = `${TRAINING_GENERATOR}/model.json` in meta.files;
  // 'training': the raw generator of a checkpoint that serves a weight average (else the same as 'served').
  const raw = opts.weights === 'training' && averaged;
  const model = await loadNet(dir, v, meta, raw ? TRAINING_GENERATOR : 'generator');
  if (opts.recomputeCopiedBatchNorm && averaged && !raw && !meta.servedBatchNorm) recomputeBatchNormStats(model);
  return { model, config: meta.config, version: v, step: meta.step, metrics: meta.metrics, createdAt: meta.createdAt };
}

export interface LoadedTraining {
  /** The raw generator training continues from. */
  generator: tf.LayersModel;
  /** The generator's weight average (served), when the checkpoint has one. */
  ema?: tf.LayersModel;
  discriminator: tf.LayersModel;
  meta: CheckpointMeta;
  optG: AdamSnapshot;
  optD: AdamSnapshot;
}

/** Loads everything needed to resume training from a checkpoint (default: the active one). */
export async function loadTrainingCheckpoint(modelsDir: string, version?: string): Promise<LoadedTraining> {
  const v = await resolveVersion(modelsDir, version);
  const dir = versionDir(modelsDir, v);
  const meta = await readMeta(dir, v);
  const averaged = `${TRAINING_GENERATOR}/model.json` in meta.files;
  const generator = await loadNet(dir, v, meta, averaged ? TRAINING_GENERATOR : 'generator');
  let discriminator: tf.LayersModel | undefined;
  let ema: tf.LayersModel | undefined;
  try {
    if (averaged) ema = await loadNet(dir, v, meta, 'generator');
    discriminator = await loadNet(dir, v, meta, 'discriminator');
    const bytes = await readVerified(dir, v, meta, 'optimizer.bin');
    const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    let o = 0;
    const take = (sizes: number[]): Float32Array[] =>
      sizes.map((n) => {
        const a = all.slice(o, o + n);
        o += n;
        return a;
      });
    const { g, d } = meta.optimizer;
    const optG = { t: g.t, m: take(g.sizes), v: take(g.sizes) };
    const optD = { t: d.t, m: take(d.sizes), v: take(d.sizes) };
    if (o !== all.length)
      throw new CheckpointError(`checkpoint ${v}: optimizer.bin has ${all.length} values, expected ${o}`);
    return { generator, ...(ema ? { ema } : {}), discriminator, meta, optG, optD };
  } catch (err) {
    generator.dispose();
    ema?.dispose();
    discriminator?.dispose();
    throw err;
  }
}

/** Verifies every file of a checkpoint (checksums, shapes); throws CheckpointError if unusable. */
export async function verifyCheckpoint(modelsDir: string, version: string): Promise<CheckpointMeta> {
  const loaded = await loadTrainingCheckpoint(modelsDir, version);
  loaded.generator.dispose();
  loaded.ema?.dispose();
  loaded.discriminator.dispose();
  return loaded.meta;
}

/** Reads a checkpoint's metadata (checksum-verified JSON only; weights not read). */
export async function readCheckpointMeta(modelsDir: string, version?: string): Promise<CheckpointMeta> {
  const v = await resolveVersion(modelsDir, version);
  return readMeta(versionDir(modelsDir, v), v);
}
