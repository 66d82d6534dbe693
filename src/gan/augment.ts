/**
 * DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for
 * Data-Efficient GAN Training"): the same random, differentiable transforms
 * applied to every image the discriminator sees, real and generated, in D's
 * and in G's update, so D cannot memorise ~10k training photos while G still
 * gets gradients through the transform. Policy "color,translation,cutout"
 * (their recommended one for small datasets):
 *   color        brightness +U(-0.5, 0.5), saturation x U(0, 2), contrast x U(0.5, 1.5)
 *   translation  shift by up to 1/8 of the size in x and y, zero fill
 *   cutout       zero a square of half the size at a random position
 * Values are in [-1, 1] as the networks see them (as in the authors' code).
 *
 * Randomness comes from shoebot's seeded Rng (one per call), not tfjs's
 * random ops, so a step is the same on every backend and after a resume.
 */
import { tf } from '../tf/index.ts';
import { Rng } from './latent.ts';

export const AUGMENT_OPS = ['color', 'translation', 'cutout'] as const;
export type AugmentOp = (typeof AUGMENT_OPS)[number];

/** Parses "color,translation,cutout" (or "none" / "") into a policy. Throws on unknown names. */
export function parseAugmentPolicy(text: string): AugmentOp[] {
  if (text.trim() === '' || text.trim() === 'none') return [];
  const ops = text.split(',').map((s) => s.trim());
  for (const op of ops) {
    if (!(AUGMENT_OPS as readonly string[]).includes(op))
      throw new Error(`unknown augmentation "${op}" (use ${AUGMENT_OPS.join(', ')} or none)`);
  }
  return [...new Set(ops)] as AugmentOp[];
}

/** Per-image [B,1,1,1] tensor of `f(rng)` values. */
function perImage(rng: Rng, b: number, f: (r: Rng) => number): tf.Tensor4D {
  return tf.tensor4d(
    Float32Array.from({ length: b }, () => f(rng)),
    [b, 1, 1, 1],
  );
}

/** x: [B, H, W, C] -> the batch with per-image brightness, saturation (C > 1) and contrast changed (small tf ops, differentiable). */
function color(x: tf.Tensor4D, rng: Rng): tf.Tensor4D {
  const b = x.shape[0];
  let y = tf.add(
    x,
    perImage(rng, b, (r) => r.uniform() - 0.5),
  ) as tf.Tensor4D;
  if (x.shape[3] > 1) {
    const m = tf.mean(y, 3, true);
    y = tf.add(
      tf.mul(
        tf.sub(y, m),
        perImage(rng, b, (r) => r.uniform() * 2),
      ),
      m,
    ) as tf.Tensor4D;
  }
  const m = tf.mean(y, [1, 2, 3], true);
  return tf.add(
    tf.mul(
      tf.sub(y, m),
      perImage(rng, b, (r) => r.uniform() + 0.5),
    ),
    m,
  ) as tf.Tensor4D;
}

/** Integer in [lo, hi] inclusive. */
const intIn = (r: Rng, lo: number, hi: number): number =>
  lo + Math.min(hi - lo, Math.floor(r.uniform() * (hi - lo + 1)));

/**
 * src: the values of a [B, H, W, C] batch (row-major) -> a new array of the same
 * shape with image i moved down by dy[i] and right by dx[i] pixels, zero fill:
 * out[i, y, x, :] = src[i, y - dy[i], x - dx[i], :], or +0 where that is outside.
 * Whole row segments are copied (TypedArray.set), so the cost is ~one memcpy.
 * `plusZero` writes v + 0 instead of v: identical except that -0 becomes +0,
 * which is what the gradient of the former pad/slice/concat version did (see translate).
 */
function shiftImages(
  src: Float32Array,
  shape: readonly number[],
  dy: Int32Array,
  dx: Int32Array,
  plusZero: boolean,
): Float32Array {
  const [b, h, w, c] = shape;
  const out = new Float32Array(b * h * w * c);
  for (let i = 0; i < b; i++) {
    // Output columns [x0, x1) and rows [y0, y1) have a source pixel; the rest stays 0.
    const x0 = Math.max(0, dx[i]);
    const x1 = Math.min(w, w + dx[i]);
    const y0 = Math.max(0, dy[i]);
    const y1 = Math.min(h, h + dy[i]);
    const len = (x1 - x0) * c;
    if (len <= 0) continue;
    for (let y = y0; y < y1; y++) {
      const from = ((i * h + y - dy[i]) * w + x0 - dx[i]) * c;
      const to = ((i * h + y) * w + x0) * c;
      if (plusZero) for (let k = 0; k < len; k++) out[to + k] = src[from + k] + 0;
      else out.set(src.subarray(from, from + len), to);
    }
  }
  return out;
}

/**
 * x: [B, H, W, C] float32 -> [B, H, W, C], image i shifted by (dy[i], dx[i])
 * with zero fill (shiftImages), as a single engine op on any backend: the
 * values are read and a new tensor made, no kernels. The former
 * pad + B slices + concat cost ~2 B kernel calls forward and B full-size pads
 * and adds backward. Its gradient is the adjoint, the opposite shift of dy,
 * itself a translate (so also one op, and differentiable again). For B > 1
 * that gradient writes v + 0, bit for bit what the old version gave: tfjs
 * summed the B padded slice gradients, and -0 + +0 is +0; for B = 1 there was
 * no sum and -0 stayed (matters where cutout's zeros carry dy's sign).
 */
function translate(x: tf.Tensor4D, dy: Int32Array, dx: Int32Array, plusZero = false): tf.Tensor4D {
  if (x.dtype !== 'float32') throw new Error(`translate: float32 images expected, got ${x.dtype}`);
  const op = tf.customGrad((input) => {
    const t = input as tf.Tensor4D;
    const value = tf.tensor4d(shiftImages(t.dataSync() as Float32Array, t.shape, dy, dx, plusZero), t.shape);
    const gradFunc = (g: tf.Tensor4D): tf.Tensor4D =>
      translate(
        g,
        dy.map((v) => -v),
        dx.map((v) => -v),
        t.shape[0] > 1,
      );
    return { value, gradFunc };
  });
  return op(x);
}

/** x: [B, H, W, C] -> the batch with each image shifted by up to `ratio` of its size in y and x, zero fill. */
function translation(x: tf.Tensor4D, rng: Rng, ratio = 0.125): tf.Tensor4D {
  const [b, h, w] = x.shape;
  const sy = Math.round(h * ratio);
  const sx = Math.round(w * ratio);
  const dy = new Int32Array(b);
  const dx = new Int32Array(b);
  // Draw order (dy then dx, image by image) is part of the reproducible run: keep it.
  for (let i = 0; i < b; i++) {
    dy[i] = intIn(rng, -sy, sy);
    dx[i] = intIn(rng, -sx, sx);
  }
  return translate(x, dy, dx);
}

/** x: [B, H, W, C] -> the batch times a [B, H, W, 1] mask that zeroes one square per image (one multiply). */
function cutout(x: tf.Tensor4D, rng: Rng, ratio = 0.5): tf.Tensor4D {
  const [b, h, w] = x.shape;
  const ch = Math.round(h * ratio);
  const cw = Math.round(w * ratio);
  const mask = new Float32Array(b * h * w).fill(1);
  for (let i = 0; i < b; i++) {
    // Centre anywhere in the image (the square may be clipped at the border), as in the authors' code.
    const cy = intIn(rng, 0, h - 1 + (1 - (ch % 2)));
    const cx = intIn(rng, 0, w - 1 + (1 - (cw % 2)));
    const y0 = Math.max(0, cy - Math.floor(ch / 2));
    const y1 = Math.min(h, cy - Math.floor(ch / 2) + ch);
    const x0 = Math.max(0, cx - Math.floor(cw / 2));
    const x1 = Math.min(w, cx - Math.floor(cw / 2) + cw);
    for (let y = y0; y < y1; y++) mask.fill(0, i * h * w + y * w + x0, i * h * w + y * w + x1);
  }
  return tf.mul(x, tf.tensor4d(mask, [b, h, w, 1]));
}

/**
 * x: [B, H, W, C] in [-1, 1] -> the augmented batch, same shape,
 * differentiable with respect to x. `seed` fixes every random draw. Call it
 * inside a tidy (intermediates are not disposed here).
 */
export function diffAugment(x: tf.Tensor4D, policy: readonly AugmentOp[], seed: number): tf.Tensor4D {
  if (policy.length === 0) return x;
  const rng = new Rng(seed);
  let y = x;
  for (const op of policy) {
    if (op === 'color') y = color(y, rng);
    else if (op === 'translation') y = translation(y, rng);
    else y = cutout(y, rng);
  }
  return y;
}

/**
 * The seed of one augmentation call: distinct for every (run seed, step,
 * replica, phase) so real and fake batches, D's and G's pass, and the two
 * data-parallel halves get independent draws, reproducibly.
 */
export function augmentSeed(base: number, step: number, replica: number, phase: number): number {
  return ((base >>> 0) * 0x1000193 + step * 8 + replica * 4 + phase) % 2 ** 52;
}
