/**
 * How the generation service's queued requests become one forward pass, and the pass's pixels go
 * back to each request: taking requests in order while they fit, dropping those whose latent size
 * no longer matches the generator, joining latents, splitting pixels.
 */
import { UserError } from './errors.ts';

export interface GenerationResult {
  /** [n, h, w, c] values in [-1, 1]. */
  pixels: Float32Array;
  shape: { n: number; h: number; w: number; c: number };
  /** Version of the checkpoint that drew these images. */
  version: string;
  nz: number;
}

/** A queued generate() call. */
export interface Pending {
  latents: Float32Array;
  n: number;
  resolve: (r: GenerationResult) => void;
  reject: (e: unknown) => void;
}

/**
 * Takes requests off the front of `queue` in order while they fit in `maxBatch` images (always at
 * least one) and returns those whose latents fit a generator with latent size `nz`; the others (a
 * swap may change nz) are rejected with a UserError.
 */
export function takeBatch(queue: Pending[], maxBatch: number, nz: number): Pending[] {
  const batch: Pending[] = [];
  let total = 0;
  while (queue.length && (batch.length === 0 || total + queue[0].n <= maxBatch)) {
    const p = queue.shift()!;
    batch.push(p);
    total += p.n;
  }
  const ok = batch.filter((p) => p.latents.length === p.n * nz);
  for (const p of batch)
    if (!ok.includes(p)) p.reject(new UserError('The generator changed while your request waited. Please try again.'));
  return ok;
}

/** The latents of `batch`, one after another ([total, nz]). */
export function joinLatents(batch: Pending[], total: number, nz: number): Float32Array {
  const latents = new Float32Array(total * nz);
  let o = 0;
  for (const p of batch) {
    latents.set(p.latents, o);
    o += p.latents.length;
  }
  return latents;
}

/** Resolves each request of `batch` with its images out of the pass's `pixels` ([total, h, w, c]). */
export function deliverPixels(
  batch: Pending[],
  pixels: Float32Array,
  [h, w, c]: [number, number, number],
  version: string,
  nz: number,
): void {
  const per = h * w * c;
  let off = 0;
  for (const p of batch) {
    p.resolve({
      pixels: pixels.slice(off * per, (off + p.n) * per),
      shape: { n: p.n, h, w, c },
      version,
      nz,
    });
    off += p.n;
  }
}
