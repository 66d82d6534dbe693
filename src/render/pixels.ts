/**
 * Pixel buffers shared by every renderer: the NHWC shape of generator output,
 * its check, the [-1, 1] -> uint8 conversion and PNG encoding (sharp, no
 * metadata, fixed settings so the same raster always gives the same bytes).
 */
import sharp from 'sharp';

export interface ImageShape {
  n: number;
  h: number;
  w: number;
  c: number;
}

/** [-1, 1] floats -> uint8 (round half up, clamped). */
export function toUint8(pixels: Float32Array, start = 0, count = pixels.length - start): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const v = Math.round((pixels[start + i] + 1) * 127.5);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

/** Throws a clear error unless `pixels` holds exactly `shape` (n, h, w > 0, c = 1 or 3). */
export function checkShape(pixels: Float32Array, shape: ImageShape): void {
  const { n, h, w, c } = shape;
  if (![n, h, w].every((v) => Number.isInteger(v) && v > 0) || (c !== 1 && c !== 3)) {
    throw new Error(`bad image shape ${JSON.stringify(shape)} (need n, h, w > 0 and c = 1 or 3)`);
  }
  if (pixels.length !== n * h * w * c)
    throw new Error(`pixel array has ${pixels.length} values, shape ${n}x${h}x${w}x${c} needs ${n * h * w * c}`);
}

/** Raw uint8 HWC raster (grey or RGB) -> PNG bytes of the same channel count. */
export function encodePng(raw: Uint8Array, width: number, height: number, channels: 1 | 3): Promise<Buffer> {
  const img = sharp(raw, { raw: { width, height, channels } });
  // Without an explicit colourspace libvips writes 1-band input as RGB.
  return (channels === 1 ? img.toColourspace('b-w') : img)
    .png({ compressionLevel: 6, adaptiveFiltering: false })
    .toBuffer();
}
