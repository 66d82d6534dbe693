/**
 * `npm run bench`'s measurements: generator latency per batch and training images/s (wall clock
 * and CPU time), and the label a model's figures go under.
 */
import { tf } from '../src/tf/index.ts';
import type { GanConfig } from '../src/gan/model.ts';
import { generate } from '../src/gan/generate.ts';

export interface Timing {
  medianMs: number;
  bestMs: number;
  /** CPU time per call (process, all threads), when measured. */
  cpuMs?: number;
}
export interface TrainFigure extends Timing {
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
export interface ConfigResult {
  config: GanConfig;
  label: string;
  generatorMs: Record<string, Timing>;
  generatorStockMs?: Record<string, Timing>;
  train: TrainFigure;
  trainParallel?: TrainFigure;
  torch?: { generatorMs: Record<string, Timing>; train: TrainFigure };
}

export const GEN_BATCHES = [1, 4, 16];
export const TRAIN_BATCH = 32;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function progress(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

/** Generator latency at each of GEN_BATCHES (two warm-up calls, then at least 5 timed ones). */
export async function timeGenerator(G: tf.LayersModel, nz: number, quick: boolean): Promise<Record<string, Timing>> {
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

/** Training speed over `steps` timed steps after one warm-up, on `threads` threads. */
export async function timeTraining(
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

/** How a model's figures are labelled in tables and in PyTorch's results. */
export function labelOf(c: Pick<GanConfig, 'imageSize' | 'channels' | 'ngf'>): string {
  return `${c.imageSize}x${c.imageSize}x${c.channels} ngf=ndf=${c.ngf}`;
}
