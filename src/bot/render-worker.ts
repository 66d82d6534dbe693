/**
 * Worker thread body of the render pool: turns generator output into PNGs
 * (src/render/grid.ts, animation.ts) off the bot's event loop. Messages: { id, kind, args }
 * in, { id, png } or { id, error } out.
 */
import { parentPort } from 'node:worker_threads';
import { renderGrid, renderSingle } from '../render/grid.ts';
import { renderAnimation } from '../render/animation.ts';
import type { RenderJob } from './render-pool.ts';

parentPort!.on('message', async (job: RenderJob & { id: number }) => {
  try {
    const png =
      job.kind === 'animation'
        ? await renderAnimation(job.pixels, job.shape, job.opts)
        : job.kind === 'grid'
          ? await renderGrid(job.pixels, job.shape, job.opts)
          : await renderSingle(job.pixels, job.shape, job.index, job.opts);
    const out = new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
    parentPort!.postMessage({ id: job.id, png: out });
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error).message });
  }
});
