/**
 * Checkpoints: one directory per version under `<MODELS_DIR>/checkpoints/`:
 *
 *   checkpoint.json           metadata + trainer state + sha256 of every other file
 *                             (and of itself, minus the `sha256` field)
 *   generator/model.json      TF.js layers format (loadable by tf.loadLayersModel
 *   generator/weights.bin      elsewhere too)
 *   discriminator/model.json
 *   discriminator/weights.bin
 *   optimizer.bin             float32: G's Adam m then v, D's Adam m then v
 *
 * A checkpoint is written into `<MODELS_DIR>/.tmp-<version>-<pid>` and renamed
 * into place, so a crash never leaves a half checkpoint under checkpoints/.
 * `<MODELS_DIR>/manifest.json` names the active version (written the same way).
 * Loading verifies checksums, the configuration and every tensor's shape, and
 * refuses anything else with a message naming the file.
 *
 * No tfjs-node here, so no file:// IO handler: models are serialised with
 * tf.io.withSaveHandler and read back with tf.io.fromMemory.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_DATASET } from '../data/dataset.ts';
import { tf } from '../tf/index.ts';
import { validateGanConfig, type GanConfig } from './model.ts';
import type { AdamSnapshot, GanTrainState, RunningMeans, TrainOptions } from './train-step.ts';
import type { RngState } from './latent.ts';
import type { TrainProgress } from './protocol.ts';

export const CHECKPOINT_FORMAT = 1;
const META_FILE = 'checkpoint.json';
/** The raw generator of a checkpoint whose generator/ holds a weight average. */
const TRAINING_GENERATOR = 'generator-train';
const MANIFEST = 'manifest.json';

/** Quality figures (src/gan/metrics.ts) stored with a checkpoint. */
export interface CheckpointMetrics {
  kid?: number;
  fid?: number;
  sneakerShare?: number;
  /** Features KID/FID were computed on (metrics.ts QualityMetrics.metric); absent = the Fashion-MNIST classifier. */
  metric?: string;
  [k: string]: number | string | undefined;
}

/** Metric id of figures on the shipped Fashion-MNIST classifier's features (metrics.ts). */
export const CLASSIFIER_METRIC = 'fmnist-classifier';

/** The metric of a checkpoint's figures (older checkpoints, written before colour models, used the classifier). */
export const metricOf = (m: CheckpointMetrics): string => m.metric ?? CLASSIFIER_METRIC;

/** One logging window, kept for loss plots: the figures of a progress report that stay meaningful later. */
export type HistoryPoint = Pick<TrainProgress, 'step' | 'lossD' | 'lossG' | 'dReal' | 'dFake' | 'freezeRate' | 'imagesPerSecond'>;

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
  /** sha256 (hex) of every file except checkpoint.json, by relative path. */
  files: Record<string, string>;
  /** sha256 of this JSON without this field. */
  sha256?: string;
}

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

export interface Manifest {
  active: string | null;
  updatedAt: string;
  [k: string]: unknown;
}

/** Thrown for any unusable checkpoint; the message says which and why. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

const sha256 = (data: Uint8Array | string): string => crypto.createHash('sha256').update(data).digest('hex');

export function checkpointsDir(modelsDir: string): string {
  return path.join(modelsDir, 'checkpoints');
}

const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$/;

function checkVersion(version: string): void {
  if (!VERSION_RE.test(version)) throw new CheckpointError(`invalid checkpoint version "${version}"`);
}

/** A new, sortable version name: `YYYYMMDD-HHMMSS-s<step>`. */
export function newVersionName(step: number, now = new Date()): string {
  const iso = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${iso}-s${String(step).padStart(6, '0')}`;
}

// ---------------------------------------------------------------- model IO

interface LayersFiles {
  modelJson: string;
  weights: Uint8Array;
}

/** Serialises a layers model to TF.js layers-format bytes (model.json + one weights.bin). */
export async function serializeModel(model: tf.LayersModel): Promise<LayersFiles> {
  let out: LayersFiles | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData;
      const buf = data === undefined ? new ArrayBuffer(0) : Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      out = { modelJson: JSON.stringify(modelJson), weights: new Uint8Array(buf) };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return out!;
}

/** Builds a layers model from model.json text + weights bytes. */
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

function checkModelShapes(model: tf.LayersModel, cfg: GanConfig, kind: 'generator' | 'discriminator', where: string): void {
  const S = cfg.imageSize;
  const C = cfg.channels;
  const want =
    kind === 'generator'
      ? { in: [null, cfg.nz], out: [null, S, S, C] }
      : { in: [null, S, S, C], out: [null, 1] };
  const got = { in: model.inputs[0]?.shape, out: model.outputs[0]?.shape };
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new CheckpointError(
      `${where}: ${kind} maps ${JSON.stringify(got.in)} -> ${JSON.stringify(got.out)}, ` +
        `but its configuration ${JSON.stringify(cfg)} needs ${JSON.stringify(want.in)} -> ${JSON.stringify(want.out)}`,
    );
  }
}

// ---------------------------------------------------------------- writing

async function writeFileSynced(file: string, data: Uint8Array | string): Promise<void> {
  const fh = await fsp.open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function sealMeta(meta: CheckpointMeta): string {
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
  /** Defaults to newVersionName(step). */
  version?: string;
}

/**
 * Writes a complete checkpoint (generator, discriminator, both Adam states,
 * trainer state) atomically. Does not change the active version.
 * Returns the version name and its directory.
 */
export async function saveCheckpoint(modelsDir: string, input: SaveCheckpointInput): Promise<{ version: string; dir: string }> {
  const { state, config } = input;
  const root = checkpointsDir(modelsDir);
  await fsp.mkdir(root, { recursive: true });
  let version = input.version ?? newVersionName(state.step);
  checkVersion(version);
  if (!input.version) {
    for (let i = 2; fs.existsSync(path.join(root, version)); i++) version = `${newVersionName(state.step)}-${i}`;
  } else if (fs.existsSync(path.join(root, version))) {
    throw new CheckpointError(`checkpoint ${version} already exists in ${root}`);
  }
  const tmp = path.join(modelsDir, `.tmp-${version}-${process.pid}`);
  await fsp.rm(tmp, { recursive: true, force: true });
  await fsp.mkdir(path.join(tmp, 'generator'), { recursive: true });
  await fsp.mkdir(path.join(tmp, 'discriminator'), { recursive: true });
  if (state.ema) await fsp.mkdir(path.join(tmp, TRAINING_GENERATOR), { recursive: true });
  try {
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

    const hashes: Record<string, string> = {};
    for (const [rel, data] of Object.entries(files)) {
      await writeFileSynced(path.join(tmp, rel), data);
      hashes[rel] = sha256(data);
    }
    const meta: CheckpointMeta = {
      format: CHECKPOINT_FORMAT,
      version,
      createdAt: new Date().toISOString(),
      step: state.step,
      config,
      metrics: input.metrics ?? {},
      ...(input.parent ? { parent: input.parent } : {}),
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
    await writeFileSynced(path.join(tmp, META_FILE), sealMeta(meta));
    await fsp.rename(tmp, path.join(root, version));
    return { version, dir: path.join(root, version) };
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Replaces a checkpoint's metrics (e.g. after `npm run eval`), atomically. */
export async function updateCheckpointMetrics(modelsDir: string, version: string, metrics: CheckpointMetrics): Promise<void> {
  const dir = versionDir(modelsDir, version);
  const meta = await readMeta(dir, version);
  meta.metrics = { ...meta.metrics, ...metrics };
  const tmp = path.join(dir, `${META_FILE}.tmp-${process.pid}`);
  await writeFileSynced(tmp, sealMeta(meta));
  await fsp.rename(tmp, path.join(dir, META_FILE));
}

// ---------------------------------------------------------------- manifest

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
    const meta = JSON.parse(fs.readFileSync(path.join(versionDir(modelsDir, active), META_FILE), 'utf8')) as CheckpointMeta;
    const name = meta.trainer?.datasetName;
    return typeof name === 'string' ? { name, imageSize: meta.config.imageSize, channels: meta.config.channels } : undefined;
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
    throw new CheckpointError(`${file}: invalid (${(err as Error).message}); fix it or run: npm run train -- --activate <version>`);
  }
}

/**
 * Makes `version` the active checkpoint (after verifying it loads), keeping
 * any other fields of the manifest. Atomic (temp file + rename).
 */
export async function setActiveCheckpoint(modelsDir: string, version: string, opts: { verify?: boolean } = {}): Promise<void> {
  checkVersion(version);
  if (opts.verify !== false) await verifyCheckpoint(modelsDir, version);
  const manifest = await readManifest(modelsDir).catch(() => ({ active: null, updatedAt: '' }) as Manifest);
  const next: Manifest = { ...manifest, active: version, updatedAt: new Date().toISOString() };
  const file = path.join(modelsDir, MANIFEST);
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFileSynced(tmp, JSON.stringify(next, null, 2) + '\n');
  await fsp.rename(tmp, file);
}

// ---------------------------------------------------------------- reading

function versionDir(modelsDir: string, version: string): string {
  checkVersion(version);
  return path.join(checkpointsDir(modelsDir), version);
}

async function readMeta(dir: string, version: string): Promise<CheckpointMeta> {
  const file = path.join(dir, META_FILE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      code === 'ENOENT' ? `checkpoint ${version} not found (no ${file})` : `checkpoint ${version}: ${file} unreadable (${(err as Error).message})`,
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
    throw new CheckpointError(`checkpoint ${version} has format ${meta.format}; this shoebot reads format ${CHECKPOINT_FORMAT}`);
  }
  try {
    validateGanConfig(meta.config);
  } catch (err) {
    throw new CheckpointError(`checkpoint ${version}: ${(err as Error).message}`);
  }
  return meta;
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
    throw new CheckpointError(`checkpoint ${version} is corrupted: ${rel} does not match its sha256 checksum; roll back to another version`);
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

async function resolveVersion(modelsDir: string, version?: string): Promise<string> {
  if (version) return version;
  const m = await readManifest(modelsDir);
  if (!m.active) {
    throw new CheckpointError(
      `no active checkpoint in ${path.join(modelsDir, MANIFEST)}; train one with "npm run train" or activate one with "npm run train -- --activate <version>"`,
    );
  }
  return m.active;
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
 */
export async function loadGeneratorCheckpoint(
  modelsDir: string,
  version?: string,
  opts: { weights?: 'served' | 'training' } = {},
): Promise<LoadedGenerator> {
  const v = await resolveVersion(modelsDir, version);
  const dir = versionDir(modelsDir, v);
  const meta = await readMeta(dir, v);
  // 'training': the raw generator of a checkpoint that serves a weight average (else the same as 'served').
  const raw = opts.weights === 'training' && `${TRAINING_GENERATOR}/model.json` in meta.files;
  const model = await loadNet(dir, v, meta, raw ? TRAINING_GENERATOR : 'generator');
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
    if (o !== all.length) throw new CheckpointError(`checkpoint ${v}: optimizer.bin has ${all.length} values, expected ${o}`);
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
    if (!VERSION_RE.test(name)) continue;
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
    const score = (c: CheckpointSummary): number => c.metrics.kid ?? (c.metrics.fid !== undefined ? 1e6 + c.metrics.fid : Infinity);
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

/**
 * Compares quality figures like the bot's gate: KID, else FID (lower is
 * better), else sneaker share (higher is better), with `margin` relative
 * slack. `worse` is true only when a comparable figure is worse by more than
 * the margin; `reason` is one readable phrase.
 */
export function compareQuality(
  candidate: CheckpointMetrics,
  active: CheckpointMetrics,
  margin: number,
): { worse: boolean; reason: string } {
  const fmt = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));
  const pct = `${Math.round(margin * 100)}%`;
  // KID on one network's features says nothing about KID on another's (e.g. after switching a grey model to colour).
  if (metricOf(candidate) !== metricOf(active)) {
    return { worse: false, reason: `quality measured with ${metricOf(candidate)}, active with ${metricOf(active)}: not comparable` };
  }
  for (const k of ['kid', 'fid'] as const) {
    const c = candidate[k];
    const a = active[k];
    if (typeof c === 'number' && typeof a === 'number' && Number.isFinite(c) && Number.isFinite(a)) {
      const worse = c > a * (1 + margin) + 1e-6;
      return { worse, reason: `${k.toUpperCase()} ${fmt(c)} vs active ${fmt(a)}${worse ? ` (worse by more than ${pct})` : ''}` };
    }
  }
  const c = candidate.sneakerShare;
  const a = active.sneakerShare;
  if (typeof c === 'number' && typeof a === 'number' && Number.isFinite(c) && Number.isFinite(a)) {
    const worse = c < a * (1 - margin);
    return { worse, reason: `sneaker share ${fmt(c)} vs active ${fmt(a)}${worse ? ` (worse by more than ${pct})` : ''}` };
  }
  return { worse: false, reason: 'no comparable quality figure' };
}
