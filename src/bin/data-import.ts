/**
 * `npm run data:import` — builds a packed training set under <DATA_DIR>/datasets/<name>/.
 *   --source fashion-mnist [--class 7] [--fmnist-dir DIR] [--out NAME]
 *   --source folder --dir PATH [--size 64] [--channels 3] [--heldout 0.1] [--out NAME]
 */
import path from 'node:path';
import { config } from '../config/env.ts';
import { datasetDir, DEFAULT_DATASET, type DatasetMeta } from '../data/dataset.ts';
import { importFashionMnist, FMNIST_DEFAULT_DIR, SNEAKER_CLASS } from '../data/fashion-mnist.ts';
import { importFolder } from '../data/folder.ts';
import { parseCommandLine, runCli } from './command-line.ts';

const HELP = `Usage: npm run data:import -- --source <fashion-mnist|folder> [options]

Builds a packed dataset (train.u8 + heldout.u8 + meta.json) in <DATA_DIR>/datasets/<name>/.

Fashion-MNIST (Debian: sudo apt-get install dataset-fashion-mnist):
  --source fashion-mnist      sneakers (class 7), 28x28 padded to 32x32 on black;
                              held-out split = Fashion-MNIST's own test (t10k) sneakers
  --class N                   another class 0-9 (5 = Sandal, 9 = Ankle boot)  [7]
  --fmnist-dir DIR            folder with the four *-ubyte.gz files  [${FMNIST_DEFAULT_DIR}]

A folder of images (e.g. UT Zappos50K Shoes/Sneakers_and_athletic_shoes):
  --source folder --dir PATH  every .jpg/.jpeg/.png/.webp/.gif/.tif/.avif below PATH
  --size N                    output size in pixels (32, 64 or 128 for the GAN)  [64]
  --channels 1|3              grey or RGB  [3]
  --heldout F                 share kept out of training for the quality metric  [0.1]

Common:
  --out NAME                  dataset name  [${DEFAULT_DATASET} for fashion-mnist, the folder's name otherwise]
  --data-dir DIR              overrides DATA_DIR  [${'$'}DATA_DIR or ./data]
  -h, --help                  this text
`;

const OPTIONS = {
  options: {
    source: { type: 'string' },
    dir: { type: 'string' },
    size: { type: 'string' },
    channels: { type: 'string' },
    heldout: { type: 'string' },
    class: { type: 'string' },
    'fmnist-dir': { type: 'string' },
    out: { type: 'string' },
    'data-dir': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
} as const;
type ImportArgs = Exclude<ReturnType<typeof parseCommandLine<typeof OPTIONS>>, number>;

/** A numeric flag, or `dflt` when absent. */
function num(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${v}"`);
  return n;
}

/** The closing lines: counts, shape, fingerprint, where and how long. */
function printDone(meta: DatasetMeta, out: string, started: number): void {
  process.stdout.write(
    `dataset ${meta.name}: ${meta.trainCount} train, ${meta.heldoutCount} held-out, ${meta.height}x${meta.width}x${meta.channels}\n`,
  );
  process.stdout.write(
    `fingerprint ${meta.fingerprint}\nwritten to ${out} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
  );
}

/** --source fashion-mnist: one class of Debian's Fashion-MNIST (default: sneakers). */
async function importFashionMnistSet(args: ImportArgs, dataDir: string, started: number): Promise<number> {
  const name = args.out ?? DEFAULT_DATASET;
  const out = datasetDir(dataDir, name);
  const meta = await importFashionMnist({
    outDir: out,
    name,
    fmnistDir: args['fmnist-dir'],
    classId: num('class', args.class, SNEAKER_CLASS),
  });
  printDone(meta, out, started);
  return 0;
}

/** --source folder: a folder of photos, padded to square on white and resized; unreadable files listed. */
async function importFolderSet(args: ImportArgs, dataDir: string, started: number): Promise<number> {
  if (!args.dir) throw new Error('--source folder needs --dir PATH (the folder of images)');
  const name =
    args.out ??
    path
      .basename(path.resolve(args.dir))
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[.-]+/, '');
  const out = datasetDir(dataDir, name);
  const size = num('size', args.size, 64);
  // The GAN's architecture only has 32/64/128 variants; another size would import but never train.
  if (![32, 64, 128].includes(size))
    throw new Error(`--size must be 32, 64 or 128 (the sizes the GAN supports), got ${args.size}`);
  const channels = num('channels', args.channels, 3);
  if (channels !== 1 && channels !== 3) throw new Error(`--channels must be 1 or 3, got ${channels}`);
  const heldoutFraction = num('heldout', args.heldout, 0.1);
  const res = await importFolder({ dir: args.dir, outDir: out, name, size, channels, heldoutFraction });
  if (res.skipped.length) {
    process.stderr.write(`${res.skipped.length} unreadable image file(s) skipped:\n`);
    for (const s of res.skipped.slice(0, 50)) process.stderr.write(`  ${s.file}: ${s.reason}\n`);
    if (res.skipped.length > 50) process.stderr.write(`  ... and ${res.skipped.length - 50} more\n`);
  }
  if (res.ignored) process.stdout.write(`${res.ignored} non-image file(s) ignored\n`);
  printDone(res.meta, out, started);
  return 0;
}

async function main(): Promise<number> {
  const args = parseCommandLine(OPTIONS, HELP);
  if (typeof args === 'number') return args;
  const dataDir = args['data-dir'] ?? config().DATA_DIR;
  const started = Date.now();
  if (args.source === 'fashion-mnist') return importFashionMnistSet(args, dataDir, started);
  if (args.source === 'folder') return importFolderSet(args, dataDir, started);
  process.stderr.write(
    `${args.source === undefined ? 'missing --source' : `unknown --source "${args.source}"`}\n\n${HELP}`,
  );
  return 2;
}

runCli('data:import', main);
