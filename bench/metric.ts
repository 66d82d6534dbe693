/**
 * `npm run bench:metric`: does the perceptual quality metric tell good from
 * bad? For each candidate feature network (net@input size) it prints FID and
 * KID ± standard error of sets that must order as: real vs real (near 0) <
 * blurred real < a generator's samples over training < untrained generator /
 * one image repeated (mode collapse), with the extraction speed that decides
 * how many images one evaluation can afford. Figures, not a test.
 *
 *   npm run bench:metric -- [--dataset sneakers-64] [--nets mobilenet_v2@128,inception_v3@139]
 *                           [--n 1000] [--checkpoints V1,V2,...] [--models-dir DIR] [--json]
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initTf, tf } from '../src/tf/index.ts';
import { loadDataset, resolveDatasetDir, type Dataset } from '../src/data/dataset.ts';
import { loadPerceptualExtractor, perceptualFeatures, type PerceptualNet } from '../src/gan/perceptual.ts';
import { fidSampleSpace, kidWithStandardError } from '../src/gan/distances.ts';
import { buildGenerator } from '../src/gan/model.ts';
import { loadGeneratorCheckpoint } from '../src/gan/checkpoint-load.ts';
import { generatePixels, gaussianBlurU8 } from '../src/gan/perceptual-metric.ts';

const { values: args } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'sneakers-64' },
    nets: { type: 'string', default: 'mobilenet_v2@96,mobilenet_v2@128,mobilenet_v2@224,inception_v3@139' },
    n: { type: 'string', default: '1000' },
    checkpoints: { type: 'string', default: '' },
    'models-dir': { type: 'string', default: process.env.MODELS_DIR ?? 'models' },
    'data-dir': { type: 'string', default: process.env.DATA_DIR ?? 'data' },
    json: { type: 'boolean', default: false },
  },
});

await initTf((process.env.TF_BACKEND as 'auto') ?? 'auto');
const ds: Dataset = await loadDataset(resolveDatasetDir(args.dataset!, args['data-dir']!));
const { height: H, width: W, channels: C } = ds.meta;
const per = H * W * C;
const n = Math.min(Number(args.n), ds.meta.heldoutCount, ds.meta.trainCount);
const log = (s: string): void => void process.stderr.write(s + '\n');
log(
  `dataset ${ds.meta.name}: ${ds.meta.trainCount} train / ${ds.meta.heldoutCount} held-out, ${H}x${W}x${C}; n = ${n}; load ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);

/** Evenly spaced training images (uint8): the "real" side of real-vs-real, never the held-out ones. */
const trainIdx = Array.from({ length: n }, (_, i) => Math.floor((i * ds.meta.trainCount) / n));
const trainU8 = new Uint8Array(n * per);
trainIdx.forEach((src, i) => trainU8.set(ds.train.subarray(src * per, (src + 1) * per), i * per));
const heldU8 = ds.heldout.subarray(0, n * per);
const blurU8 = gaussianBlurU8(trainU8, n, H, W, C, 1);
const shape = { n, h: H, w: W, c: C };

const cfg = { imageSize: H as 64, channels: C as 3, nz: 100, ngf: 32, ndf: 32 };
const untrained = buildGenerator(cfg, 1);
const untrainedPx = await generatePixels(untrained, cfg, n, 20171);
untrained.dispose();
const ckpts: { label: string; px: Float32Array }[] = [];
for (const v of args.checkpoints!.split(',').filter(Boolean)) {
  const ck = await loadGeneratorCheckpoint(args['models-dir']!, v, { recomputeCopiedBatchNorm: true });
  ckpts.push({ label: `checkpoint ${v} (step ${ck.step})`, px: await generatePixels(ck.model, ck.config, n, 20171) });
  ck.model.dispose();
}

interface Row {
  label: string;
  fid: number;
  kid: number;
  kidSe: number;
}
const results: { net: string; imagesPerSecond: number; rows: Row[] }[] = [];
for (const spec of args.nets!.split(',')) {
  const [net, size] = spec.split('@');
  const ex = await loadPerceptualExtractor(net as PerceptualNet, Number(size));
  const t0 = performance.now();
  const fHeld = await perceptualFeatures(ex, heldU8, shape);
  const seconds = (performance.now() - t0) / 1000;
  const feats = async (px: Uint8Array | Float32Array, m = n): Promise<Float64Array> =>
    perceptualFeatures(ex, px, { ...shape, n: m });
  const d = ex.featureDim;
  const row = (label: string, X: Float64Array, nx: number, Y: Float64Array, ny: number): Row => {
    const k = kidWithStandardError(X, nx, Y, ny, d);
    return { label, fid: fidSampleSpace(X, nx, Y, ny, d), kid: k.kid, kidSe: k.se };
  };
  const rows: Row[] = [];
  // Interleaved halves: the held-out set is in file-name order, and names group the photos by source.
  const half = Math.floor(n / 2);
  const pick = (parity: number): Float64Array => {
    const o = new Float64Array(half * d);
    for (let i = 0; i < half; i++) o.set(fHeld.subarray((2 * i + parity) * d, (2 * i + parity + 1) * d), i * d);
    return o;
  };
  rows.push(row(`held-out even vs odd images (${half}/${half})`, pick(0), half, pick(1), half));
  rows.push(row(`${n} training images`, await feats(trainU8), n, fHeld, n));
  rows.push(row(`${n} training images blurred (Gaussian sigma 1 px)`, await feats(blurU8), n, fHeld, n));
  for (const c of ckpts) rows.push(row(c.label, await feats(c.px), n, fHeld, n));
  rows.push(row(`untrained generator (ngf=32)`, await feats(untrainedPx), n, fHeld, n));
  // Mode collapse: one training image n times (its features computed once).
  const one = await feats(trainU8.subarray(0, per), 1);
  const rep = new Float64Array(n * d);
  for (let i = 0; i < n; i++) rep.set(one, i * d);
  rows.push(row(`one training image repeated ${n} times`, rep, n, fHeld, n));
  results.push({ net: ex.id, imagesPerSecond: n / seconds, rows });
  log(`${ex.id}: ${(n / seconds).toFixed(1)} img/s feature extraction; tensors ${tf.memory().numTensors}`);
}

if (args.json) {
  process.stdout.write(JSON.stringify({ dataset: ds.meta.name, n, load: os.loadavg(), results }, null, 2) + '\n');
} else {
  const labels = results[0].rows.map((r) => r.label);
  const head = `| set vs ${n} held-out images | ${results.map((r) => `${r.net} FID | KID ×1000`).join(' | ')} |`;
  process.stdout.write(`${head}\n|${'---|'.repeat(1 + 2 * results.length)}\n`);
  for (const [i, label] of labels.entries()) {
    const cells = results.map(
      (r) =>
        `${r.rows[i].fid.toFixed(2)} | ${(1000 * r.rows[i].kid).toFixed(2)} ± ${(1000 * r.rows[i].kidSe).toFixed(2)}`,
    );
    process.stdout.write(`| ${label} | ${cells.join(' | ')} |\n`);
  }
  process.stdout.write(
    `| feature extraction, img/s | ${results.map((r) => `${r.imagesPerSecond.toFixed(1)} | `).join(' | ')} |\n`,
  );
  process.stdout.write(
    `\nload average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}, ${os.cpus().length} cores, backend ${tf.getBackend()}; ${path.basename(process.argv[1])}\n`,
  );
}
