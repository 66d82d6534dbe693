/**
 * `npm run bench:recipes`: the seed's training recipe against shoebot's, on
 * the same data, steps, batch size and metric, over several seeds.
 *
 *   npm run bench:recipes -- train --recipe seed|shoebot --seeds 1,2,3 [--steps 1500]
 *        [--batch-size 32] [--ngf 32] [--every 500] [--dataset sneakers-64] [--out DIR]
 *   npm run bench:recipes -- torch --seeds 1,2 [--steps 1500] [--batch-size 32] [--ngf 32] [--every 500]
 *   npm run bench:recipes -- report [--out DIR] [--final] [--json]
 *
 * `train` runs `npm run train` (one thread each, so two recipes can run side
 * by side on two cores) into DIR/<recipe>-s<seed>/, resuming a run that was
 * interrupted (runs span sessions). Every run also tracks the generator's
 * weight average, so one run yields two arms: its raw generator (the recipe
 * itself) and the average (recipe + EMA).
 * `torch` trains the seed's recipe in PyTorch (bench/torch_train.py, Debian's
 * python3-torch, one thread) into DIR/torch-seed-s<seed>/, writing 1000 samples
 * every `--every` steps: the cross-check of our implementation.
 * `report` evaluates every checkpoint of every run with the perceptual metric
 * (cached beside it) and prints FID / KID per arm and step: mean ± standard
 * deviation over seeds, with training images/s.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [mode, ...rest] = process.argv.slice(2);
const { values: args } = parseArgs({
  args: rest,
  options: {
    recipe: { type: 'string', default: 'seed' },
    seeds: { type: 'string', default: '1,2,3' },
    steps: { type: 'string', default: '1500' },
    'batch-size': { type: 'string', default: '32' },
    ngf: { type: 'string', default: '32' },
    every: { type: 'string', default: '500' },
    dataset: { type: 'string', default: 'sneakers-64' },
    out: { type: 'string', default: path.join(process.env.DATA_DIR ?? 'data', 'bench-recipes') },
    json: { type: 'boolean', default: false },
    /** report: only each run's newest checkpoint (a quick look while runs are incomplete). */
    final: { type: 'boolean', default: false },
  },
});
const out = path.resolve(args.out!);

interface Summary {
  version: string;
  step: number;
  trainer: { history: { imagesPerSecond: number }[]; trainOptions: Record<string, unknown> };
}
function checkpointsOf(runDir: string): Summary[] {
  const dir = path.join(runDir, 'checkpoints');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((v) => fs.existsSync(path.join(dir, v, 'checkpoint.json')))
    .map((v) => JSON.parse(fs.readFileSync(path.join(dir, v, 'checkpoint.json'), 'utf8')) as Summary)
    .sort((a, b) => a.step - b.step);
}

if (mode === 'torch') {
  const { resolveDatasetDir } = await import('../src/data/dataset.ts');
  const dataset = resolveDatasetDir(args.dataset!, process.env.DATA_DIR ?? 'data');
  for (const seed of args.seeds!.split(',').map(Number)) {
    const runDir = path.join(out, `torch-seed-s${seed}`);
    const flags = [
      '--seed',
      String(seed),
      '--steps',
      args.steps!,
      '--every',
      args.every!,
      '--ngf',
      args.ngf!,
      '--ndf',
      args.ngf!,
      '--batch-size',
      args['batch-size']!,
    ];
    process.stderr.write(`== torch seed ${seed}: ${runDir}\n`);
    const r = spawnSync('/usr/bin/python3', [path.join(ROOT, 'bench/torch_train.py'), dataset, runDir, ...flags], {
      stdio: 'inherit',
    });
    if (r.status !== 0) {
      process.stderr.write(
        r.error
          ? `cannot run /usr/bin/python3 (${r.error.message}); install python3-torch\n`
          : `torch run failed (exit ${r.status})\n`,
      );
      process.exit(1);
    }
  }
  process.exit(0);
}

if (mode === 'train') {
  const steps = Number(args.steps);
  for (const seed of args.seeds!.split(',').map(Number)) {
    const runDir = path.join(out, `${args.recipe}-s${seed}`);
    const latest = checkpointsOf(runDir).at(-1);
    const done = latest?.step ?? 0;
    if (done >= steps) {
      process.stderr.write(`${runDir}: already at step ${done}\n`);
      continue;
    }
    const flags = [
      '--dataset',
      args.dataset!,
      '--models-dir',
      runDir,
      '--steps',
      String(steps - done),
      '--checkpoint-every',
      args.every!,
      '--threads',
      '1',
      '--no-eval',
      '--log-every',
      '50',
    ];
    // The newest checkpoint, not the active one: an interrupted run's last periodic checkpoint.
    if (latest) flags.push('--resume', latest.version);
    else {
      flags.push(
        '--recipe',
        args.recipe!,
        '--ema',
        '--seed',
        String(seed),
        '--image-size',
        '64',
        '--channels',
        '3',
        '--ngf',
        args.ngf!,
        '--ndf',
        args.ngf!,
        '--batch-size',
        args['batch-size']!,
      );
    }
    process.stderr.write(`${runDir}: ${done ? `resuming at step ${done}` : 'from scratch'} -> ${steps}\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/bin/train.ts'), ...flags], {
      stdio: 'inherit',
      cwd: ROOT,
    });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  process.exit(0);
}

if (mode !== 'report') {
  process.stderr.write('usage: npm run bench:recipes -- train|torch|report [options] (see bench/recipes.ts)\n');
  process.exit(2);
}

const { initTf } = await import('../src/tf/index.ts');
const { loadGeneratorCheckpoint } = await import('../src/gan/checkpoint-load.ts');
const { loadDataset, resolveDatasetDir } = await import('../src/data/dataset.ts');
const { comparePerceptual, generatePixels, perceptualMetricId } = await import('../src/gan/perceptual-metric.ts');
await initTf((process.env.TF_BACKEND as 'auto') ?? 'auto');
const ds = await loadDataset(resolveDatasetDir(args.dataset!, process.env.DATA_DIR ?? 'data'));
const metric = perceptualMetricId();

interface Cell {
  arm: string;
  seed: number;
  step: number;
  fid: number;
  kid: number;
  kidSe: number;
  imagesPerSecond: number;
}
const cells: Cell[] = [];
for (const run of fs.readdirSync(out).sort()) {
  const m = /^(.+)-s(\d+)$/.exec(run);
  if (!m) continue;
  const runDir = path.join(out, run);
  if (fs.existsSync(path.join(runDir, 'progress.json'))) {
    // A PyTorch run (bench/torch_train.py): its samples, scored with the same metric on the same held-out images.
    const progress = JSON.parse(fs.readFileSync(path.join(runDir, 'progress.json'), 'utf8')) as {
      imagesPerSecond: number;
    };
    const files = fs
      .readdirSync(runDir)
      .map((f) => /^samples-(\d+)\.u8$/.exec(f))
      .filter((x) => x !== null);
    const sampleSteps = files.map((f) => Number(f![1])).sort((a, b) => a - b);
    for (const step of args.final ? sampleSteps.slice(-1) : sampleSteps) {
      const cache = path.join(runDir, `eval-${metric}-${step}.json`);
      let r: { fid: number; kid: number; kidSe: number };
      if (fs.existsSync(cache)) r = JSON.parse(await fsp.readFile(cache, 'utf8'));
      else {
        const px = new Uint8Array(await fsp.readFile(path.join(runDir, `samples-${step}.u8`)));
        const n = px.length / (ds.meta.height * ds.meta.width * ds.meta.channels);
        r = await comparePerceptual(
          { pixels: px, n },
          { images: ds.heldout, height: ds.meta.height, width: ds.meta.width, channels: ds.meta.channels },
        );
        await fsp.writeFile(cache, JSON.stringify(r));
        process.stderr.write(`${run} step ${step}: FID ${r.fid.toFixed(2)} KID ${(1000 * r.kid).toFixed(2)}\n`);
      }
      cells.push({
        arm: m[1],
        seed: Number(m[2]),
        step,
        fid: r.fid,
        kid: r.kid,
        kidSe: r.kidSe,
        imagesPerSecond: progress.imagesPerSecond,
      });
    }
    continue;
  }
  const all = checkpointsOf(runDir);
  for (const ck of args.final ? all.slice(-1) : all) {
    const ips = ck.trainer.history.reduce((a, h) => a + h.imagesPerSecond, 0) / Math.max(1, ck.trainer.history.length);
    for (const weights of ['training', 'served'] as const) {
      const arm = weights === 'training' ? m[1] : `${m[1]}+ema`;
      // -bn: the served average scored with its own batch-norm statistics (recomputed for older checkpoints).
      const cache = path.join(
        runDir,
        `eval-${metric}-${ck.version}-${weights}${weights === 'served' ? '-bn' : ''}.json`,
      );
      let r: { fid: number; kid: number; kidSe: number };
      if (fs.existsSync(cache)) r = JSON.parse(await fsp.readFile(cache, 'utf8'));
      else {
        const g = await loadGeneratorCheckpoint(runDir, ck.version, { weights, recomputeCopiedBatchNorm: true });
        const t0 = performance.now();
        const px = await generatePixels(g.model, g.config, 1000, 20171);
        g.model.dispose();
        r = await comparePerceptual(
          { pixels: px, n: 1000 },
          { images: ds.heldout, height: ds.meta.height, width: ds.meta.width, channels: ds.meta.channels },
        );
        await fsp.writeFile(cache, JSON.stringify(r));
        process.stderr.write(
          `${run} ${ck.version} ${weights}: FID ${r.fid.toFixed(2)} KID ${(1000 * r.kid).toFixed(2)} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`,
        );
      }
      cells.push({
        arm,
        seed: Number(m[2]),
        step: ck.step,
        fid: r.fid,
        kid: r.kid,
        kidSe: r.kidSe,
        imagesPerSecond: ips,
      });
    }
  }
}

const stat = (xs: number[]): string => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : NaN;
  return xs.length > 1 ? `${mean.toFixed(2)} ± ${sd.toFixed(2)}` : mean.toFixed(2);
};
if (args.json) {
  process.stdout.write(JSON.stringify({ metric, load: os.loadavg(), cells }, null, 2) + '\n');
} else {
  const arms = [...new Set(cells.map((c) => c.arm))];
  const steps = [...new Set(cells.map((c) => c.step))].sort((a, b) => a - b);
  process.stdout.write(`metric ${metric}, 1000 samples vs ${ds.meta.heldoutCount} held-out; mean ± sd over seeds\n\n`);
  process.stdout.write(
    `| arm | seeds | ${steps.map((s) => `FID @${s}`).join(' | ')} | arm's last step | KID×1000 there | img/s |\n|${'---|'.repeat(steps.length + 5)}\n`,
  );
  for (const arm of arms) {
    const mine = cells.filter((c) => c.arm === arm);
    const at = (s: number) => mine.filter((c) => c.step === s);
    // Each arm's own last step: arms stop at different steps (PyTorch runs at 1,500).
    const lastStep = Math.max(...mine.map((c) => c.step));
    const last = at(lastStep);
    // The seeds behind the last column (runs still in progress have fewer steps).
    const seeds = [...new Set(last.map((c) => c.seed))];
    process.stdout.write(
      `| ${arm} | ${seeds.join(',')} | ${steps.map((s) => (at(s).length ? stat(at(s).map((c) => c.fid)) : '')).join(' | ')} | ${lastStep} | ` +
        `${last.length ? stat(last.map((c) => 1000 * c.kid)) : ''} | ${stat(last.map((c) => c.imagesPerSecond))} |\n`,
    );
  }
  process.stdout.write(
    `\nload average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}\n`,
  );
}
