/** `npm run bench`'s figures as text tables. */
import os from 'node:os';
import type { BackendInfo } from '../src/tf/index.ts';
import { GEN_BATCHES, TRAIN_BATCH, type ConfigResult, type Timing } from './speed-figures.ts';

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

/** The whole report: backend and load, generator latency, training speed, stock kernels, how it was measured. */
export function table(backend: BackendInfo, results: ConfigResult[], meta: Record<string, unknown>): string {
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
    "Generator: generate() in inference mode. Training: shoebot's trainStep (D on real and fake, non-saturating G, " +
      'Adam, weight decay; freezing off), median of the timed steps; 2 threads = src/gan/parallel (half batch per thread). ' +
      'PyTorch: bench/torch_dcgan.py, same architecture, canonical DCGAN step. tfjs/torch compares the better tfjs figure. ' +
      '"cpu" columns: batch x threads / CPU time per step, i.e. the rate if the threads had whole cores; they move much ' +
      'less than wall clock when other processes share the machine.',
  );
  return lines.join('\n');
}
