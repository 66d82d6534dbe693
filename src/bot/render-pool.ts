/**
 * PNG rendering for the bot, off the event loop. Upscaling a grid of designs
 * is synchronous JavaScript in src/render/resize.ts (~3 ms per 256 px tile
 * here), so the bot hands it to a worker thread and stays responsive. If the
 * worker cannot start or dies, rendering falls back to the main thread: an
 * image is always produced.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { renderGrid, renderSingle, type GridOptions } from '../render/grid.ts';
import type { ImageShape } from '../render/pixels.ts';
import type { UpscaleKernel } from '../render/resize.ts';
import { renderAnimation, type AnimationOptions } from '../render/animation.ts';

export type RenderJob =
  | { kind: 'grid'; pixels: Float32Array; shape: ImageShape; opts: GridOptions }
  | {
      kind: 'single';
      pixels: Float32Array;
      shape: ImageShape;
      index: number;
      opts: { size?: number; kernel?: UpscaleKernel };
    }
  | { kind: 'animation'; pixels: Float32Array; shape: ImageShape; opts: AnimationOptions };

export interface Renderer {
  /** [-1, 1] NHWC pixels -> PNG grid (see renderGrid). */
  grid(pixels: Float32Array, shape: ImageShape, opts?: GridOptions): Promise<Buffer>;
  /** One design of `pixels`, enlarged (see renderSingle). */
  single(
    pixels: Float32Array,
    shape: ImageShape,
    index?: number,
    opts?: { size?: number; kernel?: UpscaleKernel },
  ): Promise<Buffer>;
  /** Images of `pixels` as one animated WebP/GIF (see renderAnimation). */
  animation(pixels: Float32Array, shape: ImageShape, opts?: AnimationOptions): Promise<Buffer>;
  close(): Promise<void>;
}

function runInline(job: RenderJob): Promise<Buffer> {
  if (job.kind === 'animation') return renderAnimation(job.pixels, job.shape, job.opts);
  return job.kind === 'grid'
    ? renderGrid(job.pixels, job.shape, job.opts)
    : renderSingle(job.pixels, job.shape, job.index, job.opts);
}

/** Renders on the calling thread. */
export function inlineRenderer(): Renderer {
  return {
    grid: (pixels, shape, opts = {}) => runInline({ kind: 'grid', pixels, shape, opts }),
    single: (pixels, shape, index = 0, opts = {}) => runInline({ kind: 'single', pixels, shape, index, opts }),
    animation: (pixels, shape, opts = {}) => runInline({ kind: 'animation', pixels, shape, opts }),
    close: async () => undefined,
  };
}

/** One worker thread; jobs run in order. */
export class WorkerRenderer implements Renderer {
  private worker?: Worker;
  private broken = false;
  private nextId = 1;
  private pending = new Map<number, { job: RenderJob; resolve: (b: Buffer) => void; reject: (e: Error) => void }>();

  constructor(private readonly log?: Logger) {}

  private start(): Worker | undefined {
    if (this.worker || this.broken) return this.worker;
    try {
      const w = new Worker(new URL('./render-worker-boot.mjs', import.meta.url));
      w.unref(); // never keeps the process alive on its own
      w.on('message', (m: { id: number; png?: Uint8Array; error?: string }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.png) p.resolve(Buffer.from(m.png.buffer, m.png.byteOffset, m.png.byteLength));
        else p.reject(new Error(m.error ?? 'render failed'));
      });
      w.on('error', (err) => this.fail(err));
      w.on('exit', (code) => {
        if (this.worker === w) this.fail(new Error(`render worker exited with code ${code}`));
      });
      this.worker = w;
    } catch (err) {
      this.fail(err as Error);
    }
    return this.worker;
  }

  /** The worker is gone: finish its jobs (and all later ones) on the main thread. */
  private fail(err: Error): void {
    if (!this.broken) this.log?.warn({ err }, 'render worker unavailable; rendering on the main thread');
    this.broken = true;
    this.worker = undefined;
    const jobs = [...this.pending.values()];
    this.pending.clear();
    for (const p of jobs) runInline(p.job).then(p.resolve, p.reject);
  }

  private run(job: RenderJob): Promise<Buffer> {
    const w = this.start();
    if (!w) return runInline(job);
    const id = this.nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.set(id, { job, resolve, reject });
      w.ref(); // keep the process alive while a job is out
      w.postMessage({ id, ...job });
    }).finally(() => {
      if (this.pending.size === 0) this.worker?.unref();
    });
  }

  grid(pixels: Float32Array, shape: ImageShape, opts: GridOptions = {}): Promise<Buffer> {
    return this.run({ kind: 'grid', pixels, shape, opts });
  }

  single(
    pixels: Float32Array,
    shape: ImageShape,
    index = 0,
    opts: { size?: number; kernel?: UpscaleKernel } = {},
  ): Promise<Buffer> {
    return this.run({ kind: 'single', pixels, shape, index, opts });
  }

  animation(pixels: Float32Array, shape: ImageShape, opts: AnimationOptions = {}): Promise<Buffer> {
    return this.run({ kind: 'animation', pixels, shape, opts });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.broken = true;
    if (w) {
      // Jobs still out finish on the main thread.
      const jobs = [...this.pending.values()];
      this.pending.clear();
      await w.terminate();
      await Promise.allSettled(jobs.map((p) => runInline(p.job).then(p.resolve, p.reject)));
    }
  }
}
