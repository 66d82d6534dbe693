/**
 * Animated WebP/GIF encoding: really animated (pages, loop, delays read back
 * by sharp), frames in the requested order, deterministic, sizes far below
 * Discord's upload limits, and bad input rejected.
 */
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { animationMime, pingPong, renderAnimation } from '../../src/render/animation.ts';

/** n images of h x w x c whose brightness ramps from black (image 0) to white (image n-1), with a moving bar. */
function ramp(n: number, h = 32, w = 32, c = 1): Float32Array {
  const out = new Float32Array(n * h * w * c);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) {
          const base = -1 + (2 * i) / (n - 1);
          const bar = Math.abs(x - Math.round((i / (n - 1)) * (w - 1))) < 2 ? 0.3 : 0;
          out[((i * h + y) * w + x) * c + k] = Math.max(-1, Math.min(1, base + bar * (k + 1) * (y / h)));
        }
  return out;
}

/** Mean brightness of each frame of an animation, decoded by sharp. */
async function frameMeans(buf: Buffer): Promise<number[]> {
  const meta = await sharp(buf, { animated: true }).metadata();
  const { data, info } = await sharp(buf, { animated: true })
    .removeAlpha()
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const per = info.width * meta.pageHeight! * info.channels;
  return Array.from({ length: meta.pages! }, (_, f) => {
    let s = 0;
    for (let i = f * per; i < (f + 1) * per; i++) s += data[i];
    return s / per;
  });
}

describe('renderAnimation', () => {
  const n = 9;
  const shape = { n, h: 32, w: 32, c: 1 };
  const pixels = ramp(n);
  const sequence = pingPong(n);

  it('pingPong visits every image forward and back without repeating the ends', () => {
    expect(pingPong(4)).toEqual([0, 1, 2, 3, 2, 1]);
    expect(pingPong(2)).toEqual([0, 1]);
    expect(pingPong(17)).toHaveLength(32);
    expect(() => pingPong(1)).toThrow();
  });

  for (const format of ['webp', 'gif'] as const) {
    it(`encodes a looping animated ${format} with one page per frame, in order, with the delays`, async () => {
      const delay = sequence.map((i) => (i === 0 || i === n - 1 ? 500 : 70));
      const buf = await renderAnimation(pixels, shape, { format, size: 128, sequence, delay });
      const meta = await sharp(buf, { animated: true }).metadata();
      expect(meta.format).toBe(format);
      expect(meta.pages).toBe(sequence.length);
      expect(meta.pageHeight).toBe(128);
      expect(meta.width).toBe(128);
      expect(meta.height).toBe(128 * sequence.length);
      expect(meta.loop).toBe(0);
      expect(meta.delay).toEqual(delay);
      // Frames follow the sequence: brightness rises to image n-1, then falls back.
      const means = await frameMeans(buf);
      const peak = means.indexOf(Math.max(...means));
      expect(peak).toBe(n - 1);
      for (let f = 1; f <= peak; f++) expect(means[f]).toBeGreaterThan(means[f - 1]);
      for (let f = peak + 1; f < means.length; f++) expect(means[f]).toBeLessThan(means[f - 1]);
      // Matching frames of the two halves look the same.
      expect(Math.abs(means[1] - means[means.length - 1])).toBeLessThan(2);
      expect(animationMime(format)).toBe(`image/${format}`);
    });
  }

  it('is deterministic and handles RGB', async () => {
    const rgb = ramp(5, 16, 16, 3);
    const a = await renderAnimation(rgb, { n: 5, h: 16, w: 16, c: 3 }, { size: 64 });
    const b = await renderAnimation(rgb, { n: 5, h: 16, w: 16, c: 3 }, { size: 64 });
    expect(a.equals(b)).toBe(true);
    const meta = await sharp(a, { animated: true }).metadata();
    expect([meta.pages, meta.format, meta.width]).toEqual([5, 'webp', 64]);
  });

  it("stays far below Discord's 8 MB upload limit at the /blend size (WebP smaller than GIF)", async () => {
    // Random-looking content is the worst case for both codecs.
    const noisy = new Float32Array(17 * 32 * 32);
    let s = 1;
    for (let i = 0; i < noisy.length; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      noisy[i] = (s / 2 ** 32) * 2 - 1;
    }
    const seq = pingPong(17);
    const webp = await renderAnimation(
      noisy,
      { n: 17, h: 32, w: 32, c: 1 },
      { format: 'webp', size: 256, sequence: seq },
    );
    const gif = await renderAnimation(
      noisy,
      { n: 17, h: 32, w: 32, c: 1 },
      { format: 'gif', size: 256, sequence: seq },
    );
    expect(webp.length).toBeLessThan(8 * 1024 * 1024);
    expect(gif.length).toBeLessThan(8 * 1024 * 1024);
    expect(webp.length).toBeLessThan(gif.length);
  });

  it('rejects bad input with a clear error', async () => {
    await expect(renderAnimation(pixels, { ...shape, n: 8 })).rejects.toThrow(/needs/);
    await expect(renderAnimation(pixels, { ...shape, c: 2 })).rejects.toThrow(/bad image shape/);
    await expect(renderAnimation(pixels, shape, { sequence: [0] })).rejects.toThrow(/2\.\.256 frames/);
    await expect(renderAnimation(pixels, shape, { sequence: [0, 9] })).rejects.toThrow(/out of range/);
    await expect(renderAnimation(pixels, shape, { delay: 5 })).rejects.toThrow(/delays/);
    await expect(renderAnimation(pixels, shape, { delay: [80, 80] })).rejects.toThrow(/2 delays for 9 frames/);
    await expect(renderAnimation(pixels, shape, { size: 5000 })).rejects.toThrow(/size/);
    await expect(renderAnimation(pixels, shape, { format: 'png' as never })).rejects.toThrow(/format/);
  });
});
