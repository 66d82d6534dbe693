/**
 * Fashion-MNIST (MIT, (c) 2017 Zalando SE), as installed by Debian's
 * `dataset-fashion-mnist`. 28x28 grey, white-ish objects on black; padded to
 * 32x32 with black so the DCGAN's power-of-two sizes fit.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readIdx } from './idx.ts';
import { writeDataset, type DatasetMeta } from './dataset.ts';
import { createProgress } from './progress.ts';

export const FMNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';
export const FMNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;
export const SNEAKER_CLASS = 7;
export const FMNIST_LICENSE = 'Fashion-MNIST, MIT licence, (c) 2017 Zalando SE';

export interface LabelledImages {
  /** uint8 NHWC [count, size, size, 1] */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  size: number;
}

/**
 * Pads square single-channel images from `from`x`from` to `to`x`to`, centred,
 * filling with `fill` (FMNIST's background is 0).
 */
export function padImages(src: Uint8Array, count: number, from: number, to: number, fill = 0): Uint8Array {
  if (to < from) throw new Error(`cannot pad ${from}px images down to ${to}px`);
  const off = Math.floor((to - from) / 2);
  const out = new Uint8Array(count * to * to).fill(fill);
  for (let i = 0; i < count; i++) {
    for (let y = 0; y < from; y++) {
      const s = i * from * from + y * from;
      out.set(src.subarray(s, s + from), i * to * to + (y + off) * to + off);
    }
  }
  return out;
}

function idxPaths(dir: string, split: 'train' | 't10k'): { images: string; labels: string } {
  const images = path.join(dir, `${split}-images-idx3-ubyte.gz`);
  const labels = path.join(dir, `${split}-labels-idx1-ubyte.gz`);
  for (const f of [images, labels]) {
    if (!fs.existsSync(f)) {
      throw new Error(
        `Fashion-MNIST file not found: ${f}. Install it with "sudo apt-get install dataset-fashion-mnist" ` +
          `(Debian/Ubuntu) or download the four IDX files from github.com/zalandoresearch/fashion-mnist into a folder and pass --fmnist-dir.`,
      );
    }
  }
  return { images, labels };
}

/**
 * Loads one Fashion-MNIST split, optionally only the given classes, padded
 * to `size` (default 32). Images: uint8 [count, size, size, 1].
 */
export async function loadFashionMnist(
  dir: string,
  split: 'train' | 't10k',
  opts: { classes?: number[]; size?: number; imagesFile?: string; labelsFile?: string } = {},
): Promise<LabelledImages> {
  const files =
    opts.imagesFile && opts.labelsFile ? { images: opts.imagesFile, labels: opts.labelsFile } : idxPaths(dir, split);
  const [img, lab] = await Promise.all([readIdx(files.images), readIdx(files.labels)]);
  if (img.dims.length !== 3 || img.dims[1] !== img.dims[2])
    throw new Error(`${files.images}: expected [n, h, w] square images, got [${img.dims}]`);
  if (lab.dims.length !== 1 || lab.dims[0] !== img.dims[0])
    throw new Error(`${files.labels}: ${lab.dims[0]} labels for ${img.dims[0]} images`);
  const [n, side] = img.dims;
  const size = opts.size ?? 32;
  let keep: number[] = [];
  if (opts.classes) {
    const want = new Set(opts.classes);
    for (let i = 0; i < n; i++) if (want.has(lab.data[i])) keep.push(i);
  } else keep = Array.from({ length: n }, (_, i) => i);
  const picked = new Uint8Array(keep.length * side * side);
  const labels = new Uint8Array(keep.length);
  keep.forEach((src, j) => {
    picked.set(img.data.subarray(src * side * side, (src + 1) * side * side), j * side * side);
    labels[j] = lab.data[src];
  });
  return { images: padImages(picked, keep.length, side, size, 0), labels, count: keep.length, size };
}

/**
 * Builds the packed sneaker dataset: training split = the class's images of
 * FMNIST's train set, held-out split = the class's images of its t10k set
 * (the official test split, so the held-out images are never trained on).
 */
export async function importFashionMnist(opts: {
  outDir: string;
  name: string;
  fmnistDir?: string;
  classId?: number;
  size?: number;
  silent?: boolean;
}): Promise<DatasetMeta> {
  const dir = opts.fmnistDir ?? FMNIST_DEFAULT_DIR;
  const classId = opts.classId ?? SNEAKER_CLASS;
  if (!Number.isInteger(classId) || classId < 0 || classId > 9)
    throw new Error(`--class must be 0..9, got ${opts.classId}`);
  const progress = createProgress({ label: 'fashion-mnist', total: 2, unit: 'splits', silent: opts.silent });
  const train = await loadFashionMnist(dir, 'train', { classes: [classId], size: opts.size });
  progress.tick();
  const heldout = await loadFashionMnist(dir, 't10k', { classes: [classId], size: opts.size });
  progress.tick();
  const meta = await writeDataset(opts.outDir, {
    name: opts.name,
    source: `fashion-mnist class ${classId} (${FMNIST_CLASSES[classId]}) from ${dir}, 28x28 padded to ${train.size}x${train.size} with black`,
    height: train.size,
    width: train.size,
    channels: 1,
    background: 'black',
    train: train.images,
    heldout: heldout.images,
    license: FMNIST_LICENSE,
  });
  progress.done(`${meta.trainCount} train + ${meta.heldoutCount} held-out images -> ${opts.outDir}`);
  return meta;
}
