/**
 * Packed datasets: `<DATA_DIR>/datasets/<name>/` holds
 *   meta.json    {name, source, height, width, channels, trainCount, heldoutCount, fingerprint, ...}
 *   train.u8     raw uint8 NHWC, trainCount images
 *   heldout.u8   raw uint8 NHWC, heldoutCount images (never trained on; the quality metric's reference)
 * Raw bytes keep loading trivial (one read, no decoding) and make the
 * fingerprint a plain hash of what the trainer sees.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** The dataset `npm run data:import -- --source fashion-mnist` writes and the trainer uses by default. */
export const DEFAULT_DATASET = 'fashion-mnist-sneakers';
export const DATASET_FORMAT_VERSION = 1;

export interface DatasetMeta {
  name: string;
  /** Human-readable origin, e.g. "fashion-mnist class 7 (Sneaker)" or "folder /data/zappos". */
  source: string;
  height: number;
  width: number;
  channels: 1 | 3;
  trainCount: number;
  heldoutCount: number;
  /** sha256 (hex) over a shape header, train.u8 and heldout.u8: identifies the exact pixels. */
  fingerprint: string;
  /** Background colour of the images: FMNIST is black (0), folder imports are padded on white. */
  background: 'black' | 'white';
  formatVersion: number;
  /** Licence / attribution of the source data, when known. */
  license?: string;
}

export interface Dataset {
  meta: DatasetMeta;
  /** uint8 NHWC, meta.trainCount images. */
  train: Uint8Array;
  /** uint8 NHWC, meta.heldoutCount images. */
  heldout: Uint8Array;
}

export interface DatasetInput {
  name: string;
  source: string;
  height: number;
  width: number;
  channels: 1 | 3;
  background: 'black' | 'white';
  train: Uint8Array;
  heldout: Uint8Array;
  license?: string;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Throws a clear error unless `name` is a safe dataset directory name. */
export function checkDatasetName(name: string): string {
  if (!NAME_RE.test(name)) {
    throw new Error(`invalid dataset name "${name}": use letters, digits, '.', '_' or '-' (max 64, no leading dot)`);
  }
  return name;
}

/** `<dataDir>/datasets/<name>` */
export function datasetDir(dataDir: string, name: string): string {
  return path.join(dataDir, 'datasets', checkDatasetName(name));
}

/**
 * Resolves a `--dataset` argument: a directory containing meta.json, or the
 * name of a dataset under `<dataDir>/datasets/`.
 */
export function resolveDatasetDir(nameOrDir: string, dataDir: string): string {
  if (fs.existsSync(path.join(nameOrDir, 'meta.json'))) return nameOrDir;
  if (NAME_RE.test(nameOrDir)) {
    const dir = datasetDir(dataDir, nameOrDir);
    if (fs.existsSync(path.join(dir, 'meta.json'))) return dir;
  }
  throw new Error(
    `dataset "${nameOrDir}" not found (looked for ${nameOrDir}/meta.json and ${path.join(dataDir, 'datasets', nameOrDir)}/meta.json). ` +
      'Create one with: npm run data:import -- --source fashion-mnist',
  );
}

/** sha256 over "HxWxC:train:heldout\n" + train bytes + heldout bytes. */
export function fingerprintPixels(
  shape: { height: number; width: number; channels: number },
  train: Uint8Array,
  heldout: Uint8Array,
): string {
  const per = shape.height * shape.width * shape.channels;
  const h = crypto.createHash('sha256');
  h.update(`${shape.height}x${shape.width}x${shape.channels}:${train.length / per}:${heldout.length / per}\n`);
  h.update(train);
  h.update(heldout);
  return h.digest('hex');
}

/**
 * Writes a dataset atomically: everything goes to a temporary sibling
 * directory first, which then replaces `dir`, so a crash never leaves a
 * half-written dataset that looks valid.
 */
export async function writeDataset(dir: string, input: DatasetInput): Promise<DatasetMeta> {
  const per = input.height * input.width * input.channels;
  if (input.train.length % per !== 0 || input.heldout.length % per !== 0) {
    throw new Error(
      `dataset ${input.name}: pixel buffers are not a whole number of ${input.height}x${input.width}x${input.channels} images`,
    );
  }
  const meta: DatasetMeta = {
    name: checkDatasetName(input.name),
    source: input.source,
    height: input.height,
    width: input.width,
    channels: input.channels,
    trainCount: input.train.length / per,
    heldoutCount: input.heldout.length / per,
    fingerprint: fingerprintPixels(input, input.train, input.heldout),
    background: input.background,
    formatVersion: DATASET_FORMAT_VERSION,
    ...(input.license ? { license: input.license } : {}),
  };
  const parent = path.dirname(path.resolve(dir));
  await fsp.mkdir(parent, { recursive: true });
  const tmp = path.join(parent, `.tmp-${path.basename(dir)}-${process.pid}-${Date.now()}`);
  await fsp.mkdir(tmp);
  try {
    await fsp.writeFile(path.join(tmp, 'train.u8'), input.train);
    await fsp.writeFile(path.join(tmp, 'heldout.u8'), input.heldout);
    await fsp.writeFile(path.join(tmp, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
    const old = `${tmp}-old`;
    const hadOld = fs.existsSync(dir);
    if (hadOld) await fsp.rename(dir, old);
    await fsp.rename(tmp, dir);
    if (hadOld) await fsp.rm(old, { recursive: true, force: true });
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return meta;
}

/**
 * Loads a packed dataset. Checks file sizes against meta.json and (unless
 * `verify: false`) the fingerprint, so a truncated or edited file is refused
 * with a message instead of silently training on garbage.
 */
export async function loadDataset(dir: string, opts: { verify?: boolean } = {}): Promise<Dataset> {
  const metaPath = path.join(dir, 'meta.json');
  let meta: DatasetMeta;
  try {
    meta = JSON.parse(await fsp.readFile(metaPath, 'utf8')) as DatasetMeta;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT'
        ? `no dataset at ${dir} (missing meta.json). Create one with: npm run data:import -- --source fashion-mnist`
        : `${metaPath}: unreadable (${(err as Error).message})`,
    );
  }
  for (const k of ['height', 'width', 'channels', 'trainCount', 'heldoutCount'] as const) {
    if (!Number.isInteger(meta[k]) || meta[k] < 0) throw new Error(`${metaPath}: field ${k} is missing or invalid`);
  }
  const per = meta.height * meta.width * meta.channels;
  const read = async (file: string, count: number): Promise<Uint8Array> => {
    const p = path.join(dir, file);
    const buf = await fsp.readFile(p).catch((err: Error) => {
      throw new Error(`${p}: unreadable (${err.message})`);
    });
    if (buf.length !== count * per) {
      throw new Error(
        `${p}: expected ${count} images of ${per} bytes (${count * per} bytes), found ${buf.length} bytes; re-run the import`,
      );
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  };
  const train = await read('train.u8', meta.trainCount);
  const heldout = await read('heldout.u8', meta.heldoutCount);
  if (opts.verify !== false) {
    const fp = fingerprintPixels(meta, train, heldout);
    if (fp !== meta.fingerprint) {
      throw new Error(
        `dataset ${dir}: pixel data does not match its fingerprint (files changed or corrupted); re-run the import`,
      );
    }
  }
  return { meta, train, heldout };
}

/**
 * Converts `count` uint8 images starting at image `start` to float32 in
 * [-1, 1] (same NHWC layout): v / 127.5 - 1, the normalisation the GAN trains on.
 */
export function toUnitRange(u8: Uint8Array, imageSize: number, start = 0, count?: number): Float32Array {
  const n = count ?? u8.length / imageSize - start;
  const src = u8.subarray(start * imageSize, (start + n) * imageSize);
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] / 127.5 - 1;
  return out;
}
