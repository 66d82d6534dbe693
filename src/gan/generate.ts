/**
 * Inference: latents in, images out. The generator runs in inference mode
 * (batch norm uses its moving statistics), so an image depends only on its own
 * latent vector and the checkpoint — never on what else is in the batch.
 * That makes "same seed + same checkpoint = same image" hold for any count.
 */
import { tf } from '../tf/index.ts';

/**
 * Runs `model` on `n` latent vectors. `latents`: Float32Array [n, nz]
 * (row-major, nz = model's input size). Returns a Float32Array of
 * [n, H, W, C] (NHWC) values in [-1, 1]. No tensor outlives the call.
 */
export async function generate(model: tf.LayersModel, latents: Float32Array, n: number): Promise<Float32Array> {
  const nz = model.inputs[0].shape[1];
  if (typeof nz !== 'number') throw new Error('generator has no fixed latent size');
  if (!Number.isInteger(n) || n < 1) throw new Error(`n must be a positive integer, got ${n}`);
  if (latents.length !== n * nz)
    throw new Error(`expected ${n} x ${nz} = ${n * nz} latent values, got ${latents.length}`);
  const out = tf.tidy(() => model.predict(tf.tensor2d(latents, [n, nz])) as tf.Tensor);
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}

/** Output shape of a generator for `n` images: {n, h, w, c} (the shape renderGrid takes). */
export function outputShape(model: tf.LayersModel, n: number): { n: number; h: number; w: number; c: number } {
  const [, h, w, c] = model.outputs[0].shape as [null, number, number, number];
  return { n, h, w, c };
}
