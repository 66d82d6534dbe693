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
import { generate } from '../src/gan/generate.ts';
import { DEFAULT_TRAIN_OPTIONS } from '../src/gan/recipe.ts';
import { GanTrainState, trainStep } from '../src/gan/train-step.ts';
import { DataParallel } from '../src/gan/parallel/index.ts';
import { registerFastKernels, restoreStockKernels } from '../src/tf/kernels/register.ts';
import { TF_BACKENDS, type TfBackendChoice } from '../src/config/env.ts';

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

interface Timing {
  medianMs: number;
  bestMs: number;
  /** CPU time per call (process, all threads), when measured. */
  cpuMs?: number;
}
interface TrainFigure extends Timing {
  imagesPerSecond: number;
  /** Process CPU time per step (all threads). */
  cpuMsPerStep: number;
  /**
   * Images/s the CPU time allows when the threads get whole cores:
   * batch / (cpu time per step / threads). On a shared machine this is the
   * steadier figure; wall-clock images/s is what this run actually got.
   */
  cpuImagesPerSecond: number;
}
interface ConfigResult {
  config: GanConfig;
  label: string;
  generatorMs: Record<string, Timing>;
  generatorStockMs?: Record<string, Timing>;
  train: TrainFigure;
  trainParallel?: TrainFigure;
  torch?: { generatorMs: Record<string, Timing>; train: TrainFigure };
}

const GEN_BATCHES = [1, 4, 16];
const TRAIN_BATCH = 32;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function progress(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

async function timeGenerator(G: tf.LayersModel, nz: number, quick: boolean): Promise<Record<string, Timing>> {
  const out: Record<string, Timing> = {};
  for (const n of GEN_BATCHES) {
    const latents = Float32Array.from({ length: n * nz }, (_, i) => Math.sin(i * 12.9898) * 1.3);
    for (let i = 0; i < 2; i++) await generate(G, latents, n);
    const times: number[] = [];
    const budget = performance.now() + (quick ? 600 : 1500);
    const cpu0 = process.cpuUsage();
    while (times.length < 5 || (performance.now() < budget && times.length < 40)) {
      const t0 = performance.now();
      await generate(G, latents, n);
      times.push(performance.now() - t0);
    }
    const cpu = process.cpuUsage(cpu0);
    out[n] = {
      medianMs: median(times),
      bestMs: Math.min(...times),
      cpuMs: (cpu.user + cpu.system) / 1000 / times.length,
    };
  }
  return out;
}

async function timeTraining(
  step: () => Promise<unknown> | unknown,
  steps: number,
  threads: number,
): Promise<TrainFigure> {
  await step(); // warm-up: kernel set-up, XNNPACK operators
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  const med = median(times);
  const cpuMsPerStep = (cpu.user + cpu.system) / 1000 / steps;
  return {
    medianMs: med,
    bestMs: Math.min(...times),
    imagesPerSecond: (TRAIN_BATCH * 1000) / med,
    cpuMsPerStep,
    cpuImagesPerSecond: (TRAIN_BATCH * 1000 * threads) / cpuMsPerStep,
  };
}

function torchAvailable(): boolean {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
  return r.status === 0;
}

function runTorch(configs: GanConfig[], steps: number): Map<string, NonNullable<ConfigResult['torch']>> | string {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'torch_dcgan.py');
  const args = JSON.stringify({
    configs,
    genBatches: GEN_BATCHES,
    trainBatch: TRAIN_BATCH,
    trainSteps: steps,
    threads: 1,
  });
  const r = spawnSync('/usr/bin/python3', [script, args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return `PyTorch run failed: ${(r.stderr || '').trim().split('\n').slice(-1)[0]}`;
  const parsed = JSON.parse(r.stdout) as {
    results: Array<{
      config: GanConfig;
      generatorMs: Record<string, { median: number; best: number; cpu: number }>;
      train: { stepMs: number; bestStepMs: number; cpuMsPerStep: number; imagesPerSecond: number };
    }>;
  };
  const out = new Map<string, NonNullable<ConfigResult['torch']>>();
  for (const res of parsed.results) {
    const gen: Record<string, Timing> = {};
    for (const [k, v] of Object.entries(res.generatorMs)) gen[k] = { medianMs: v.median, bestMs: v.best, cpuMs: v.cpu };
    out.set(labelOf(res.config), {
      generatorMs: gen,
      train: {
        medianMs: res.train.stepMs,
        bestMs: res.train.bestStepMs,
        imagesPerSecond: res.train.imagesPerSecond,
        cpuMsPerStep: res.train.cpuMsPerStep,
        cpuImagesPerSecond: (TRAIN_BATCH * 1000) / res.train.cpuMsPerStep,
      },
    });
  }
  return out;
}

function labelOf(c: Pick<GanConfig, 'imageSize' | 'channels' | 'ngf'>): string {
  return `${c.imageSize}x${c.imageSize}x${c.channels} ngf=ndf=${c.ngf}`;
}

function fmt(x: number | undefined, digits = 1): string {
  return x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);
}

function grid(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || !Number.isFinite(a / b) ? '-' : `${(a / b).toFixed(2)}x`;
}

function table(backend: BackendInfo, results: ConfigResult[], meta: Record<string, unknown>): string {
  const lines: string[] = [];
  lines.push(`Backend: ${backend.label} (${backend.reason})`);
  lines.push(
    `Load average (1 min) at start/end: ${meta.loadStart} / ${meta.loadEnd} on ${os.cpus().length} cores${meta.torch ? `; PyTorch ${meta.torch}, 1 thread` : ''}`,
  );
  lines.push('');
  lines.push('Generator latency, ms: median wall clock (CPU ms per call)');
  const g = (t: Timing | undefined) => (t ? `${fmt(t.medianMs)} (${fmt(t.cpuMs)})` : '-');
  lines.push(
    ...grid(
      ['model', 'batch 1', 'batch 4', 'batch 16', 'torch b1', 'torch b4', 'torch b16'],
      results.map((r) => [
        r.label,
        ...GEN_BATCHES.map((b) => g(r.generatorMs[b])),
        ...GEN_BATCHES.map((b) => g(r.torch?.generatorMs[b])),
      ]),
    ),
  );
  lines.push('');
  lines.push(`Training, batch ${TRAIN_BATCH}, images/s: wall clock | from CPU time (threads given whole cores)`);
  lines.push(
    ...grid(
      ['model', '1 thread', '(cpu)', '2 threads', '(cpu)', 'torch', '(cpu)', 'tfjs/torch', '(cpu)'],
      results.map((r) => {
        const bestWall = Math.max(r.train.imagesPerSecond, r.trainParallel?.imagesPerSecond ?? 0);
        const bestCpu = Math.max(r.train.cpuImagesPerSecond, r.trainParallel?.cpuImagesPerSecond ?? 0);
        return [
          r.label,
          fmt(r.train.imagesPerSecond),
          fmt(r.train.cpuImagesPerSecond),
          fmt(r.trainParallel?.imagesPerSecond),
          fmt(r.trainParallel?.cpuImagesPerSecond),
          fmt(r.torch?.train.imagesPerSecond),
          fmt(r.torch?.train.cpuImagesPerSecond),
          ratio(bestWall, r.torch?.train.imagesPerSecond),
          ratio(bestCpu, r.torch?.train.cpuImagesPerSecond),
        ];
      }),
    ),
  );
  const stock = results.filter((r) => r.generatorStockMs);
  if (stock.length) {
    lines.push('');
    lines.push('Generator with the stock TensorFlow.js kernels, ms (batch 1/4/16):');
    for (const r of stock)
      lines.push(`  ${r.label}: ${GEN_BATCHES.map((b) => fmt(r.generatorStockMs![b]?.medianMs)).join(' / ')}`);
  }
  lines.push('');
  lines.push(
    "Generator: generate() in inference mode. Training: the trainer's trainStep (D on real and fake, non-saturating G, " +
      'Adam, weight decay; freezing off), median of the timed steps; 2 threads = src/gan/parallel (half batch per thread). ' +
      'PyTorch: bench/torch_dcgan.py, same architecture, canonical DCGAN step. tfjs/torch compares the better tfjs figure. ' +
      '"cpu" columns: batch x threads / CPU time per step, i.e. the rate if the threads had whole cores; they move much ' +
      'less than wall clock when other processes share the machine.',
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
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
  if (values.help) {
    console.log(HELP);
    return;
  }
  const choice = (values.backend ?? process.env.TF_BACKEND ?? 'auto') as TfBackendChoice;
  if (!(TF_BACKENDS as readonly string[]).includes(choice))
    throw new Error(`--backend must be one of ${TF_BACKENDS.join(', ')} (got ${choice})`);
  const quick = values.quick;
  const sizes = (values.sizes ?? '32,64').split(',').map(Number);
  const widths = (values.widths ?? (quick ? '32' : '32,64')).split(',').map(Number);
  const steps = Number(values.steps ?? (quick ? 3 : 4));
  for (const s of sizes) if (s !== 32 && s !== 64) throw new Error(`--sizes: 32 or 64 (got ${s})`);
  for (const w of widths) if (!Number.isInteger(w) || w < 1) throw new Error(`--widths: positive integers (got ${w})`);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps: a positive integer (got ${values.steps})`);

  const loadStart = os.loadavg()[0].toFixed(2);
  const backend = await initTf(choice);
  progress(`backend ${backend.label}; load average ${loadStart}`);
  const configs: GanConfig[] = [];
  for (const size of sizes)
    for (const w of widths)
      configs.push({ imageSize: size as 32 | 64, channels: size === 32 ? 1 : 3, nz: 100, ngf: w, ndf: w });
  const parallel = !values['no-parallel'] && (backend.name === 'wasm' || backend.name === 'cpu');

  const results: ConfigResult[] = [];
  for (const config of configs) {
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
    const real = tf.randomUniform(
      [TRAIN_BATCH, config.imageSize, config.imageSize, config.channels],
      -1,
      1,
      'float32',
      1,
    ) as tf.Tensor4D;
    const z = tf.randomNormal([TRAIN_BATCH, config.nz], 0, 1, 'float32', 2) as tf.Tensor2D;
    progress(`${label}: training, one thread (${steps} steps)`);
    const train = await timeTraining(() => trainStep(state, real, z), steps, 1);
    let trainParallel: TrainFigure | undefined;
    if (parallel) {
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
    results.push({ config, label, generatorMs, generatorStockMs, train, trainParallel });
  }

  let torchVersion: string | undefined;
  let torchNote: string | undefined;
  if (!values['no-torch']) {
    if (torchAvailable()) {
      progress('PyTorch (one thread), same models');
      const torch = runTorch(configs, steps);
      if (typeof torch === 'string') torchNote = torch;
      else {
        for (const r of results) r.torch = torch.get(r.label);
        torchVersion = spawnSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'], {
          encoding: 'utf8',
        }).stdout.trim();
      }
    } else torchNote = 'PyTorch not available (/usr/bin/python3 cannot import torch; apt-get install python3-torch)';
  }
  const loadEnd = os.loadavg()[0].toFixed(2);
  const meta = {
    loadStart,
    loadEnd,
    cores: os.cpus().length,
    torch: torchVersion,
    torchNote,
    node: process.version,
    date: new Date().toISOString(),
  };
  if (values.json) {
    console.log(JSON.stringify({ backend, meta, results }, null, 2));
  } else {
    console.log(table(backend, results, meta));
    if (torchNote) console.log(torchNote);
    if (!values['no-community']) {
      // A smaller run of `npm run bench:community` (tens of seconds): does community steering help?
      progress('community steering vs plain sampling (bench/community.ts)');
      console.log('');
      // At least 3 communities: the 95% CI uses Student's t over them (t = 12.7 for two).
      const size = values.quick
        ? ['--communities', '3', '--rounds', '40', '--eval-seeds', '40']
        : ['--communities', '4', '--eval-seeds', '60'];
      const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'community.ts');
      spawnSync(process.execPath, ['--import', 'tsx', script, ...size, '--fit-size', '0'], {
        stdio: 'inherit',
        env: { ...process.env, LOG_LEVEL: 'warn' },
      });
    }
  }
}

main().catch((err: Error) => {
  console.error(`bench failed: ${err.message}`);
  process.exitCode = 1;
});
