/**
 * `npm run bench:profile`: where one DCGAN training step spends its time, per kernel.
 * Figures, not a test. Every kernel call goes through the engine's runKernelFunc; this wraps
 * it and records wall time per call, with the time of kernels called from inside another
 * kernel (shoebot's convolution-gradient kernels are built from tf ops) charged to the inner
 * kernel only, so the self times add up to the step. The WASM and CPU kernels are
 * synchronous, so wall time per call is the kernel's time (on a shared machine, inflated).
 *
 *   npm run bench:profile -- [--size 64] [--width 64] [--recipe seed|shoebot] [--steps 3] [--batch 32] [--top 25] [--json]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { tf, initTf } from '../src/tf/index.ts';
import { buildDiscriminator, buildGenerator, type GanConfig } from '../src/gan/model.ts';
import { GanTrainState, trainStep } from '../src/gan/train-step.ts';
import { RECIPES, recipeOptions, type RecipeName } from '../src/gan/recipe.ts';

interface KernelTotal {
  kernel: string;
  calls: number;
  selfMs: number;
  /** The input shapes of the slowest call, to find it in the model. */
  slowestShapes: string;
  slowestMs: number;
}

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '64' },
    width: { type: 'string', default: '64' },
    recipe: { type: 'string', default: 'seed' },
    steps: { type: 'string', default: '3' },
    batch: { type: 'string', default: '32' },
    top: { type: 'string', default: '25' },
    json: { type: 'boolean', default: false },
  },
});
const size = Number(values.size);
const width = Number(values.width);
const steps = Number(values.steps);
if (size !== 32 && size !== 64) throw new Error(`--size: 32 or 64 (got ${values.size})`);
if (!(values.recipe! in RECIPES)) throw new Error(`--recipe: one of ${Object.keys(RECIPES).join(', ')}`);

const backend = await initTf();
const config: GanConfig = { imageSize: size, channels: size === 32 ? 1 : 3, nz: 100, ngf: width, ndf: width };
const G = buildGenerator(config);
const D = buildDiscriminator(config);
const BATCH = Number(values.batch);
if (!Number.isInteger(BATCH) || BATCH < 1) throw new Error(`--batch: a positive integer (got ${values.batch})`);
// Freezing off: every step updates D, the cost the throughput figures are about.
const state = new GanTrainState(G, D, {
  ...recipeOptions(values.recipe as RecipeName),
  batchSize: BATCH,
  freezing: false,
});
const real = tf.randomUniform([BATCH, size, size, config.channels], -1, 1, 'float32', 1) as tf.Tensor4D;
const z = tf.randomNormal([BATCH, config.nz], 0, 1, 'float32', 2) as tf.Tensor2D;
for (let i = 0; i < 2; i++) trainStep(state, real, z); // warm-up: kernels compiled, buffers allocated

const engine = tf.engine() as unknown as {
  runKernelFunc: (p: { kernelName?: string; inputs?: Record<string, tf.TensorInfo | undefined> }) => unknown;
};
const original = engine.runKernelFunc.bind(engine);
const totals = new Map<string, KernelTotal>();
const childMs: number[] = []; // stack: time spent in kernels called by the kernel at each depth
engine.runKernelFunc = (params) => {
  const name = params.kernelName ?? '(op)';
  childMs.push(0);
  const t0 = performance.now();
  try {
    return original(params);
  } finally {
    const total = performance.now() - t0;
    const self = total - childMs.pop()!;
    if (childMs.length) childMs[childMs.length - 1] += total;
    const t = totals.get(name) ?? { kernel: name, calls: 0, selfMs: 0, slowestShapes: '', slowestMs: 0 };
    t.calls++;
    t.selfMs += self;
    if (self > t.slowestMs) {
      t.slowestMs = self;
      t.slowestShapes = Object.values(params.inputs ?? {})
        .map((i) => (i ? `[${i.shape.join(',')}]` : '-'))
        .join(' ');
    }
    totals.set(name, t);
  }
};
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < steps; i++) trainStep(state, real, z);
const wallMs = (performance.now() - t0) / steps;
const cpu = process.cpuUsage(cpu0);
engine.runKernelFunc = original;

const rows = [...totals.values()].sort((a, b) => b.selfMs - a.selfMs);
const kernelMs = rows.reduce((s, r) => s + r.selfMs, 0) / steps;
const out = {
  backend: backend.label,
  config: `${size}x${size}x${config.channels} ngf=ndf=${width} batch ${BATCH} recipe ${values.recipe}`,
  load: os.loadavg()[0].toFixed(2),
  msPerStep: +wallMs.toFixed(1),
  imagesPerSecond: +((BATCH * 1000) / wallMs).toFixed(1),
  cpuMsPerStep: +((cpu.user + cpu.system) / 1000 / steps).toFixed(1),
  inKernelsShare: +(kernelMs / wallMs).toFixed(3),
  kernels: rows.slice(0, Number(values.top)).map((r) => ({
    kernel: r.kernel,
    callsPerStep: r.calls / steps,
    msPerStep: +(r.selfMs / steps).toFixed(1),
    share: +(r.selfMs / steps / wallMs).toFixed(3),
    slowestCallMs: +r.slowestMs.toFixed(1),
    slowestShapes: r.slowestShapes,
  })),
};
if (values.json) console.log(JSON.stringify(out, null, 2));
else {
  console.log(`${out.backend} · ${out.config} · load ${out.load} on ${os.cpus().length} cores`);
  console.log(
    `${out.msPerStep} ms/step (${out.imagesPerSecond} img/s), CPU ${out.cpuMsPerStep} ms/step, ${(out.inKernelsShare * 100).toFixed(0)} % inside kernels`,
  );
  console.table(out.kernels);
}
tf.dispose([real, z]);
state.dispose();
