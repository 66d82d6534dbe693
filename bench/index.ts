/**
 * `npm run bench`: DCGAN speed on the active TensorFlow.js backend, with the
 * same models in PyTorch (one thread) for the ratio when Debian's
 * python3-torch is installed. Figures, not a test: the machine may be shared,
 * so the load average is printed with them, and CPU time per step (which
 * contention inflates much less than wall time) alongside.
 *
 *   npm run bench -- [--backend wasm|cpu|tensorflow] [--quick] [--json]
 *                    [--sizes 32,64] [--widths 32,64] [--steps 4]
 *                    [--no-parallel] [--no-torch] [--stock-kernels] [--no-community]
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tf, initTf, type BackendInfo } from '../src/tf/index.ts';
import { buildDiscriminator, buildGenerator, type GanConfig } from '../src/gan/model.ts';
import { DEFAULT_TRAIN_OPTIONS } from '../src/gan/recipe.ts';
import { GanTrainState, trainStep } from '../src/gan/train-step.ts';
import { DataParallel } from '../src/gan/parallel/index.ts';
import { registerFastKernels, restoreStockKernels } from '../src/tf/kernels/register.ts';
import { TF_BACKENDS, type TfBackendChoice } from '../src/config/env.ts';
import {
  labelOf,
  progress,
  TRAIN_BATCH,
  timeGenerator,
  timeTraining,
  type ConfigResult,
  type Timing,
  type TrainFigure,
} from './speed-figures.ts';
import { runTorch, torchAvailable, torchVersion } from './speed-torch.ts';
import { table } from './speed-table.ts';

const HELP = `npm run bench -- [options]

DCGAN speed on the active TensorFlow.js backend: generator latency (batch 1/4/16)
and training images/s (batch 32; one thread, and data-parallel on two threads
for wasm/cpu), for 32x32x1 and 64x64x3 at ngf=ndf=32 and 64; the same models in
PyTorch (one thread) when /usr/bin/python3 can import torch, with the ratio.

  --backend B       auto|tensorflow|wasm|cpu (default: TF_BACKEND or auto)
  --quick           only ngf=ndf=32, fewer repetitions
  --sizes 32,64     image sizes (32 -> 32x32x1, 64 -> 64x64x3)
  --widths 32,64    ngf=ndf values
  --steps N         timed training steps per figure (default 4; --quick 3)
  --no-parallel     skip the two-thread data-parallel training figure
  --no-torch        skip PyTorch
  --no-community    skip the community-steering figure (bench/community.ts, a smaller run;
                    npm run bench:community for the full one)
  --stock-kernels   also time the generator with TensorFlow.js's stock kernels
  --json            print the figures as JSON instead of a table
  --help            this text`;

/** The options, checked. */
function benchOptions() {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string' },
      quick: { type: 'boolean', default: false },
      sizes: { type: 'string' },
      widths: { type: 'string' },
      steps: { type: 'string' },
      'no-parallel': { type: 'boolean', default: false },
      'no-torch': { type: 'boolean', default: false },
      'no-community': { type: 'boolean', default: false },
      'stock-kernels': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const choice = (values.backend ?? process.env.TF_BACKEND ?? 'auto') as TfBackendChoice;
  if (!values.help && !(TF_BACKENDS as readonly string[]).includes(choice))
    throw new Error(`--backend must be one of ${TF_BACKENDS.join(', ')} (got ${choice})`);
  const quick = values.quick;
  const sizes = (values.sizes ?? '32,64').split(',').map(Number);
  const widths = (values.widths ?? (quick ? '32' : '32,64')).split(',').map(Number);
  const steps = Number(values.steps ?? (quick ? 3 : 4));
  if (!values.help) {
    for (const s of sizes) if (s !== 32 && s !== 64) throw new Error(`--sizes: 32 or 64 (got ${s})`);
    for (const w of widths)
      if (!Number.isInteger(w) || w < 1) throw new Error(`--widths: positive integers (got ${w})`);
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps: a positive integer (got ${values.steps})`);
  }
  return { values, choice, quick, sizes, widths, steps };
}
type BenchOptions = ReturnType<typeof benchOptions>;

/** Every figure for one model: generator latency (also with stock kernels), training on one and two threads. */
async function measureConfig(config: GanConfig, o: BenchOptions, backend: BackendInfo): Promise<ConfigResult> {
  const { steps, quick, values } = o;
  const label = labelOf(config);
  const G = buildGenerator(config);
  const D = buildDiscriminator(config);
  progress(`${label}: generator latency`);
  const generatorMs = await timeGenerator(G, config.nz, quick);
  let generatorStockMs: Record<string, Timing> | undefined;
  if (values['stock-kernels'] && (backend.name === 'wasm' || backend.name === 'cpu')) {
    progress(`${label}: generator latency, stock kernels`);
    restoreStockKernels(backend.name);
    try {
      generatorStockMs = await timeGenerator(G, config.nz, true);
    } finally {
      registerFastKernels(backend.name);
    }
  }
  const state = new GanTrainState(G, D, { ...DEFAULT_TRAIN_OPTIONS, batchSize: TRAIN_BATCH, freezing: false });
  const shape: [number, number, number, number] = [TRAIN_BATCH, config.imageSize, config.imageSize, config.channels];
  const real = tf.randomUniform(shape, -1, 1, 'float32', 1) as tf.Tensor4D;
  const z = tf.randomNormal([TRAIN_BATCH, config.nz], 0, 1, 'float32', 2) as tf.Tensor2D;
  progress(`${label}: training, one thread (${steps} steps)`);
  const train = await timeTraining(() => trainStep(state, real, z), steps, 1);
  let trainParallel: TrainFigure | undefined;
  if (!values['no-parallel'] && (backend.name === 'wasm' || backend.name === 'cpu')) {
    progress(`${label}: training, two threads (${steps} steps)`);
    const par = await DataParallel.start(state);
    try {
      trainParallel = await timeTraining(() => par.step(state, real, z), steps, 2);
    } finally {
      await par.close();
    }
  }
  tf.dispose([real, z]);
  state.dispose();
  G.dispose();
  D.dispose();
  return { config, label, generatorMs, generatorStockMs, train, trainParallel };
}

/** PyTorch's figures joined into `results`; returns its version, or a note on why there are none. */
function addTorch(
  configs: GanConfig[],
  results: ConfigResult[],
  steps: number,
): { torch?: string; torchNote?: string } {
  if (!torchAvailable())
    return { torchNote: 'PyTorch not available (/usr/bin/python3 cannot import torch; apt-get install python3-torch)' };
  progress('PyTorch (one thread), same models');
  const torch = runTorch(configs, steps);
  if (typeof torch === 'string') return { torchNote: torch };
  for (const r of results) r.torch = torch.get(r.label);
  return { torch: torchVersion() };
}

/** A smaller run of `npm run bench:community` (tens of seconds): does community steering help? */
function runCommunity(quick: boolean): void {
  progress('community steering vs plain sampling (bench/community.ts)');
  console.log('');
  // At least 3 communities: the 95% CI uses Student's t over them (t = 12.7 for two).
  const size = quick
    ? ['--communities', '3', '--rounds', '40', '--eval-seeds', '40']
    : ['--communities', '4', '--eval-seeds', '60'];
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'community.ts');
  spawnSync(process.execPath, ['--import', 'tsx', script, ...size, '--fit-size', '0'], {
    stdio: 'inherit',
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
}

async function main(): Promise<void> {
  const o = benchOptions();
  if (o.values.help) {
    console.log(HELP);
    return;
  }
  const loadStart = os.loadavg()[0].toFixed(2);
  const backend = await initTf(o.choice);
  progress(`backend ${backend.label}; load average ${loadStart}`);
  const configs: GanConfig[] = [];
  for (const size of o.sizes)
    for (const w of o.widths)
      configs.push({ imageSize: size as 32 | 64, channels: size === 32 ? 1 : 3, nz: 100, ngf: w, ndf: w });
  const results: ConfigResult[] = [];
  for (const config of configs) results.push(await measureConfig(config, o, backend));
  const { torch, torchNote } = o.values['no-torch'] ? {} : addTorch(configs, results, o.steps);
  const meta = {
    loadStart,
    loadEnd: os.loadavg()[0].toFixed(2),
    cores: os.cpus().length,
    torch,
    torchNote,
    node: process.version,
    date: new Date().toISOString(),
  };
  if (o.values.json) {
    console.log(JSON.stringify({ backend, meta, results }, null, 2));
    return;
  }
  console.log(table(backend, results, meta));
  if (torchNote) console.log(torchNote);
  if (!o.values['no-community']) runCommunity(o.quick);
}

main().catch((err: Error) => {
  console.error(`bench failed: ${err.message}`);
  process.exitCode = 1;
});
