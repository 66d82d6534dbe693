/**
 * Imports any folder of images (e.g. UT Zappos50K's
 * Shoes/Sneakers_and_athletic_shoes) the way the seed prepared them: pad to a
 * square on white (the product photos' background), resize to the target
 * size, grey or RGB. Unreadable files are reported and skipped, never fatal.
 */
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { writeDataset, type DatasetMeta } from './dataset.ts';
import { createProgress } from './progress.ts';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'];

export interface SkippedFile {
  file: string;
  reason: string;
}

export interface FolderImportResult {
  meta: DatasetMeta;
  /** Files with an image extension that could not be decoded. */
  skipped: SkippedFile[];
  /** Files ignored because their extension is not an image type. */
  ignored: number;
}

export interface FolderImportOptions {
  dir: string;
  outDir: string;
  name: string;
  size?: number;
  channels?: 1 | 3;
  /** Share of images kept out of training for the quality metric (default 0.1). */
  heldoutFraction?: number;
  concurrency?: number;
  silent?: boolean;
}

/** All files under `dir`, relative paths, sorted by code unit (locale-independent, so deterministic). */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await fsp.readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() || e.isSymbolicLink())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)));
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Decodes one image to `size`x`size`x`channels` uint8: EXIF-rotated,
 * transparency flattened on white, padded to a square on white, resized with
 * lanczos3. Throws sharp's error for unreadable files.
 */
export async function prepareImage(file: string, size: number, channels: 1 | 3): Promise<Uint8Array> {
  let img = sharp(file, { failOn: 'warning' })
    .rotate()
    .flatten({ background: '#ffffff' })
    .resize(size, size, { fit: 'contain', background: '#ffffff', kernel: 'lanczos3' });
  img = channels === 1 ? img.greyscale() : img.toColourspace('srgb');
  // depth 'uchar': 16-bit PNGs/TIFFs would otherwise come out as two bytes per sample.
  const { data, info } = await img.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.width !== size || info.height !== size || data.length !== size * size * info.channels) {
    throw new Error(
      `decoded to ${info.width}x${info.height}x${info.channels} (${data.length} bytes), expected ${size}x${size}`,
    );
  }
  if (info.channels === channels) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // libvips may keep 3 bands for a grey image (or 1 for RGB output of a grey source): convert here.
  const out = new Uint8Array(size * size * channels);
  for (let p = 0; p < size * size; p++) {
    if (channels === 1) {
      const r = data[p * info.channels],
        g = data[p * info.channels + 1],
        b = data[p * info.channels + 2];
      out[p] = Math.round(0.2126 * r + 0.7152 * g + 0.0722 * b);
    } else {
      out[p * 3] = out[p * 3 + 1] = out[p * 3 + 2] = data[p * info.channels];
    }
  }
  return out;
}

/** Deterministic rank key for the held-out split: depends only on the file's relative path. */
function splitKey(rel: string): string {
  return crypto.createHash('sha256').update(rel.split(path.sep).join('/')).digest('hex');
}

/**
 * Imports a folder into a packed dataset. The held-out split is the
 * `heldoutFraction` of files with the smallest sha256(relative path):
 * deterministic, independent of file order, and stable for most files when a
 * few are added or removed.
 */
export async function importFolder(opts: FolderImportOptions): Promise<FolderImportResult> {
  const size = opts.size ?? 64;
  const channels = opts.channels ?? 3;
  const fraction = opts.heldoutFraction ?? 0.1;
  if (!Number.isInteger(size) || size < 8 || size > 512)
    throw new Error(`--size must be an integer in 8..512, got ${opts.size}`);
  if (channels !== 1 && channels !== 3) throw new Error(`--channels must be 1 or 3, got ${opts.channels}`);
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`--heldout must be in [0, 1), got ${opts.heldoutFraction}`);
  const stat = await fsp.stat(opts.dir).catch(() => null);
  if (!stat?.isDirectory()) throw new Error(`--dir ${opts.dir} is not a readable directory`);

  const all = await listFiles(opts.dir);
  const files = all.filter((f) => IMAGE_EXTENSIONS.includes(path.extname(f).toLowerCase()));
  const ignored = all.length - files.length;
  if (files.length === 0) throw new Error(`no image files (${IMAGE_EXTENSIONS.join(' ')}) found under ${opts.dir}`);

  const per = size * size * channels;
  const decoded: (Uint8Array | null)[] = new Array(files.length).fill(null);
  const skipped: SkippedFile[] = [];
  const progress = createProgress({
    label: `import ${path.basename(path.resolve(opts.dir))}`,
    total: files.length,
    unit: 'images',
    silent: opts.silent,
  });
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= files.length) return;
      try {
        decoded[i] = await prepareImage(path.join(opts.dir, files[i]), size, channels);
      } catch (err) {
        skipped.push({ file: files[i], reason: (err as Error).message.split('\n')[0] });
      }
      progress.tick();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));

  const good = files.map((f, i) => ({ f, i })).filter(({ i }) => decoded[i]);
  if (good.length === 0) throw new Error(`none of the ${files.length} image files under ${opts.dir} could be read`);
  let heldoutCount = Math.round(fraction * good.length);
  if (fraction > 0 && heldoutCount === 0 && good.length >= 2) heldoutCount = 1;
  const heldoutSet = new Set(
    good
      .map(({ f, i }) => ({ i, key: splitKey(f) }))
      .sort((a, b) => (a.key < b.key ? -1 : 1))
      .slice(0, heldoutCount)
      .map((x) => x.i),
  );
  const train = new Uint8Array((good.length - heldoutCount) * per);
  const heldout = new Uint8Array(heldoutCount * per);
  let t = 0;
  let h = 0;
  for (const { i } of good) {
    if (heldoutSet.has(i)) heldout.set(decoded[i]!, per * h++);
    else train.set(decoded[i]!, per * t++);
  }
  skipped.sort((a, b) => (a.file < b.file ? -1 : 1));
  const meta = await writeDataset(opts.outDir, {
    name: opts.name,
    source: `folder ${path.resolve(opts.dir)}, padded to square on white, resized to ${size}x${size}, ${channels === 1 ? 'grey' : 'RGB'}`,
    height: size,
    width: size,
    channels,
    background: 'white',
    train,
    heldout,
  });
  progress.done(
    `${meta.trainCount} train + ${meta.heldoutCount} held-out images -> ${opts.outDir}` +
      (skipped.length ? `; ${skipped.length} unreadable file(s) skipped` : ''),
  );
  return { meta, skipped, ignored };
}
