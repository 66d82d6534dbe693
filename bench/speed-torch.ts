/**
 * The same models in PyTorch (bench/torch_dcgan.py, one thread) when Debian's python3-torch is
 * installed, for `npm run bench`'s ratio column.
 */
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { GanConfig } from '../src/gan/model.ts';
import { GEN_BATCHES, labelOf, TRAIN_BATCH, type ConfigResult, type Timing } from './speed-figures.ts';

/** Whether /usr/bin/python3 can import torch. */
export function torchAvailable(): boolean {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
  return r.status === 0;
}

/** PyTorch's figures per model label, or why the run failed. */
export function runTorch(
  configs: GanConfig[],
  steps: number,
): Map<string, NonNullable<ConfigResult['torch']>> | string {
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

/** The installed PyTorch version. */
export function torchVersion(): string {
  return spawnSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'], {
    encoding: 'utf8',
  }).stdout.trim();
}
