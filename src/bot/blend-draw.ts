/**
 * The frames of a /blend: latents along the slerp arc between two designs (src/gan/slerp.ts),
 * drawn by the generation service (batched with everybody else's requests), all from one
 * checkpoint even when it is hot-swapped meanwhile.
 */
import { easedFractions, slerpPath } from '../gan/slerp.ts';
import { UserError } from './errors.ts';
import type { GenerationResult } from './generation-batch.ts';
import type { BotContext } from './types.ts';

/** Images from a to b, both included. Odd, so the exact midpoint is one of them. */
export const BLEND_STEPS = 17;

export interface BlendDrawing {
  /** [steps, h, w, c] pixels in [-1, 1], frame i at fraction ts[i]. */
  pixels: Float32Array;
  shape: GenerationResult['shape'];
  /** [steps, nz] latents of the frames. */
  latents: Float32Array;
  ts: number[];
  /** Index of the midpoint (t = 0.5) frame. */
  middle: number;
  version: string;
  nz: number;
}

/**
 * Draws `steps` frames along the slerp arc from `latA` to `latB` through the
 * generation service, in requests of at most its batch size, all queued at
 * once (so they run in consecutive passes, shared with other requests). If the
 * checkpoint was hot-swapped between those passes the frames are drawn again,
 * so one animation never mixes two generators.
 */
export async function drawBlend(
  ctx: BotContext,
  latA: Float32Array,
  latB: Float32Array,
  steps = BLEND_STEPS,
): Promise<BlendDrawing> {
  if (!Number.isInteger(steps) || steps < 3 || steps % 2 === 0)
    throw new Error(`steps must be an odd number >= 3, got ${steps}`);
  const ts = easedFractions(steps);
  const latents = slerpPath(latA, latB, ts);
  const nz = latA.length;
  const gen = ctx.generation;
  for (let attempt = 0; attempt < 2; attempt++) {
    const parts: Promise<GenerationResult>[] = [];
    for (let i = 0; i < steps; i += gen.maxBatch) {
      const n = Math.min(gen.maxBatch, steps - i);
      parts.push(gen.generate(latents.subarray(i * nz, (i + n) * nz), n));
    }
    // Settle all before deciding, so no rejection is left unobserved.
    const settled = await Promise.allSettled(parts);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const results = settled.map((s) => (s as PromiseFulfilledResult<GenerationResult>).value);
    const version = results[0].version;
    if (results.some((r) => r.version !== version)) {
      ctx.log.info(
        { versions: [...new Set(results.map((r) => r.version))] },
        'checkpoint swapped during a blend; drawing it again',
      );
      continue;
    }
    const { h, w, c } = results[0].shape;
    const pixels = new Float32Array(steps * h * w * c);
    let off = 0;
    for (const r of results) {
      pixels.set(r.pixels, off);
      off += r.pixels.length;
    }
    return { pixels, shape: { n: steps, h, w, c }, latents, ts, middle: (steps - 1) / 2, version, nz };
  }
  throw new UserError('The sneaker generator was updated while drawing your blend. Please try again.');
}
