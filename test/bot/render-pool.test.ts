/**
 * The bot's render pool: PNGs from the worker thread are byte-identical to
 * the main thread's, the event loop stays free while it renders, and a dead
 * worker degrades to main-thread rendering instead of failing a request.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { WorkerRenderer, inlineRenderer, type Renderer } from '../../src/bot/render-pool.ts';

function pixels(n: number, h: number, w: number, c: number): Float32Array {
  const p = new Float32Array(n * h * w * c);
  for (let i = 0; i < p.length; i++) p[i] = Math.sin(i * 0.37) * 0.9;
  return p;
}

describe('render pool', () => {
  it('renders the same bytes as the main thread, without blocking the event loop', async () => {
    const shape = { n: 4, h: 32, w: 32, c: 3 };
    const px = pixels(4, 32, 32, 3);
    const worker = new WorkerRenderer();
    const inline = inlineRenderer();
    const opts = { cols: 2, tile: 256, labels: ['1', '2', '3', '4'] };
    const expected = await inline.grid(px, shape, opts);
    expect((await worker.grid(px, shape, opts)).equals(expected)).toBe(true);
    expect(
      (await worker.single(px, shape, 2, { size: 512 })).equals(await inline.single(px, shape, 2, { size: 512 })),
    ).toBe(true);

    // Main-thread busy time (event-loop utilisation counts this thread only) for the same renders.
    const busy = async (r: Renderer, k: number) => {
      const start = performance.eventLoopUtilization();
      await Promise.all(Array.from({ length: k }, () => r.grid(px, shape, opts)));
      return performance.eventLoopUtilization(start).active;
    };
    const viaWorker = await busy(worker, 8);
    const onMain = await busy(inline, 8);
    console.log(
      `main-thread busy time rendering 8 grids: worker ${viaWorker.toFixed(1)} ms, main thread ${onMain.toFixed(1)} ms`,
    );
    expect(viaWorker).toBeLessThan(onMain / 2);
    await worker.close();
  });

  it('falls back to the main thread when the worker dies', async () => {
    const shape = { n: 1, h: 32, w: 32, c: 1 };
    const px = pixels(1, 32, 32, 1);
    const worker = new WorkerRenderer();
    const first = await worker.grid(px, shape, { tile: 64 });
    // Kill the thread behind the pool's back.
    await (worker as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    const again = await worker.grid(px, shape, { tile: 64 });
    expect(again.equals(first)).toBe(true);
    await worker.close();
  });
});
