/**
 * Animated images (WebP or GIF, encoded by sharp) from generator output: the
 * /blend morph. Frames are enlarged in plain JavaScript (the same resampler
 * as the grids, src/render/grid.ts), stacked into one tall raw image and
 * handed to libvips once as pages of `pageHeight` = frame size, which it
 * encodes as an animation. Same input -> same bytes.
 */
import sharp from 'sharp';
import { toUint8, type ImageShape } from './pixels.ts';
import { resizeImage, type UpscaleKernel } from './resize.ts';

export type AnimationFormat = 'webp' | 'gif';

export interface AnimationOptions {
  /** Output format (default webp: ~5-20x smaller than GIF for these images). */
  format?: AnimationFormat;
  /** Frame side in pixels (default 256). */
  size?: number;
  /**
   * Which input image each frame shows, in order (default: every image once).
   * A ping-pong loop reuses images without enlarging them twice.
   */
  sequence?: number[];
  /** Display time per frame in ms: one value for all, or one per frame of `sequence` (default 80). */
  delay?: number | number[];
  /** Times to play; 0 = forever (default). */
  loop?: number;
  kernel?: UpscaleKernel;
}

/** Most frames in one animation: bounds memory (a 512 px RGB frame is 768 KiB raw). */
export const MAX_FRAMES = 256;

/** MIME type of a format (for attachments). */
export function animationMime(format: AnimationFormat): string {
  return format === 'gif' ? 'image/gif' : 'image/webp';
}

/**
 * Encodes images of `pixels` ([-1, 1] NHWC with `shape`, c = 1 or 3) as one
 * looping animation of `size`x`size` frames. Returns the file's bytes.
 */
export async function renderAnimation(
  pixels: Float32Array,
  shape: ImageShape,
  opts: AnimationOptions = {},
): Promise<Buffer> {
  const { n, h, w, c } = shape;
  if (![n, h, w].every((v) => Number.isInteger(v) && v > 0) || (c !== 1 && c !== 3))
    throw new Error(`bad image shape ${JSON.stringify(shape)}`);
  if (pixels.length !== n * h * w * c)
    throw new Error(`pixel array has ${pixels.length} values, shape ${n}x${h}x${w}x${c} needs ${n * h * w * c}`);
  const format = opts.format ?? 'webp';
  if (format !== 'webp' && format !== 'gif') throw new Error(`unknown animation format ${String(format)}`);
  const size = opts.size ?? 256;
  if (!Number.isInteger(size) || size < 8 || size > 1024)
    throw new Error(`size must be an integer in 8..1024, got ${size}`);
  const sequence = opts.sequence ?? Array.from({ length: n }, (_, i) => i);
  if (sequence.length < 2 || sequence.length > MAX_FRAMES)
    throw new Error(`an animation needs 2..${MAX_FRAMES} frames, got ${sequence.length}`);
  for (const i of sequence)
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`frame index ${i} out of range 0..${n - 1}`);
  const delays = Array.isArray(opts.delay) ? opts.delay : new Array<number>(sequence.length).fill(opts.delay ?? 80);
  if (delays.length !== sequence.length) throw new Error(`got ${delays.length} delays for ${sequence.length} frames`);
  // GIF stores delays in centiseconds and many viewers treat < 20 ms as 100 ms.
  for (const d of delays)
    if (!Number.isInteger(d) || d < 20 || d > 65_535)
      throw new Error(`frame delays must be whole ms in 20..65535, got ${d}`);
  const loop = opts.loop ?? 0;
  if (!Number.isInteger(loop) || loop < 0 || loop > 65_535) throw new Error(`loop must be 0..65535, got ${loop}`);

  const per = h * w * c;
  const frameBytes = size * size * c;
  const tiles = new Map<number, Uint8Array>();
  const raw = new Uint8Array(frameBytes * sequence.length);
  sequence.forEach((img, f) => {
    let tile = tiles.get(img);
    if (!tile) {
      tile = resizeImage(toUint8(pixels, img * per, per), h, w, c, size, opts.kernel ?? 'lanczos3');
      tiles.set(img, tile);
    }
    raw.set(tile, f * frameBytes);
  });
  const base = sharp(raw, { raw: { width: size, height: size * sequence.length, channels: c, pageHeight: size } });
  // Neither format stores single-band images: libvips widens grey to RGB(A) either way.
  // Measured on 32 frames of 256 px (17 blend images of the default model): WebP effort 2 takes
  // ~half the time of the default 4 for ~6% more bytes. GIF: the quantiser's default effort (7)
  // took 4x longer for grey frames (which fit a palette exactly anyway) and 6-10x longer for RGB
  // (43 s for RGB noise), dithering added 25% bytes: the fallback format gets the fast settings.
  return format === 'webp'
    ? base.webp({ loop, delay: delays, quality: 85, effort: 2 }).toBuffer()
    : base.gif({ loop, delay: delays, effort: 1, dither: 0 }).toBuffer();
}

/**
 * Frame order for a seamless back-and-forth loop over `n` images:
 * 0, 1, …, n-1, n-2, …, 1 (then the loop restarts at 0). 2(n-1) frames.
 */
export function pingPong(n: number): number[] {
  if (!Number.isInteger(n) || n < 2) throw new Error(`need at least 2 images, got ${n}`);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(i);
  for (let i = n - 2; i >= 1; i--) out.push(i);
  return out;
}
