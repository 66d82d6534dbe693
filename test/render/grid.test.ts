import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { renderGrid, renderSingle } from '../../src/render/grid.ts';
import { renderLossPlot } from '../../src/render/loss-plot.ts';
import { toUint8 } from '../../src/render/pixels.ts';
import { resizeImage } from '../../src/render/resize.ts';

/** n designs of h x w x c: design i is a horizontal ramp offset by i (values in [-1, 1]). */
function designs(n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(n * h * w * c);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) out[((i * h + y) * w + x) * c + k] = Math.sin(i + x / 3 + k) * Math.cos(y / 5);
  return out;
}

async function decode(png: Buffer) {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, info };
}

describe('renderGrid', () => {
  it('lays out n tiles in cols with gaps, grey stays grey, and the bytes are deterministic', async () => {
    const px = designs(6, 32, 32, 1);
    const png = await renderGrid(px, { n: 6, h: 32, w: 32, c: 1 }, { cols: 3, tile: 64, gap: 4 });
    const meta = await sharp(png).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBe(3 * 64 + 4 * 4);
    expect(meta.height).toBe(2 * 64 + 3 * 4);
    expect(meta.channels).toBe(1);
    expect(Buffer.compare(png, await renderGrid(px, { n: 6, h: 32, w: 32, c: 1 }, { cols: 3, tile: 64, gap: 4 }))).toBe(
      0,
    );
    const other = px.slice();
    other[100] = -other[100];
    expect(
      Buffer.compare(png, await renderGrid(other, { n: 6, h: 32, w: 32, c: 1 }, { cols: 3, tile: 64, gap: 4 })),
    ).not.toBe(0);
  });

  it('nearest upscaling reproduces each source pixel as a block, gaps are white', async () => {
    const px = designs(4, 8, 8, 3);
    const png = await renderGrid(px, { n: 4, h: 8, w: 8, c: 3 }, { tile: 32, kernel: 'nearest', gap: 2 });
    const { data, info } = await decode(png);
    expect([info.width, info.height, info.channels]).toEqual([2 * 32 + 3 * 2, 2 * 32 + 3 * 2, 3]);
    const u8 = toUint8(px);
    // Design 3 (bottom right), source pixel (x=5, y=2), channel 1 -> block at tile offset (20..23, 8..11).
    const want = u8[((3 * 8 + 2) * 8 + 5) * 3 + 1];
    const X0 = 2 + 32 + 2,
      Y0 = 2 + 32 + 2;
    for (const [dx, dy] of [
      [20, 8],
      [23, 11],
    ])
      expect(data[((Y0 + dy) * info.width + X0 + dx) * 3 + 1]).toBe(want);
    expect([...data.subarray(0, 3)]).toEqual([255, 255, 255]);
  });

  it('draws labels under the tiles and default sizes are sensible', async () => {
    const px = designs(4, 32, 32, 1);
    const plain = await sharp(await renderGrid(px, { n: 4, h: 32, w: 32, c: 1 })).metadata();
    expect(plain.width).toBe(2 * 128 + 3 * 4);
    const labelled = await renderGrid(px, { n: 4, h: 32, w: 32, c: 1 }, { labels: ['#1 seed 42', '#2', '#3', '#4'] });
    const meta = await sharp(labelled).metadata();
    expect(meta.height).toBeGreaterThan(plain.height!);
    const { data, info } = await decode(labelled);
    // Some dark text pixels in the label strip below the first tile.
    let dark = 0;
    for (let y = 4 + 128; y < 4 + 128 + 20; y++)
      for (let x = 4; x < 4 + 128; x++) if (data[y * info.width + x] < 100) dark++;
    expect(dark).toBeGreaterThan(20);
  });

  it('rejects inconsistent input', async () => {
    await expect(renderGrid(new Float32Array(10), { n: 1, h: 4, w: 4, c: 1 })).rejects.toThrow(/needs 16/);
    await expect(renderGrid(new Float32Array(32), { n: 2, h: 4, w: 4, c: 2 })).rejects.toThrow(/bad image shape/);
    await expect(renderGrid(new Float32Array(16), { n: 1, h: 4, w: 4, c: 1 }, { labels: ['a', 'b'] })).rejects.toThrow(
      /labels/,
    );
  });
});

describe('renderSingle and resizeImage', () => {
  it('renders one design at the requested size', async () => {
    const px = designs(3, 64, 64, 3);
    const png = await renderSingle(px, { n: 3, h: 64, w: 64, c: 3 }, 2, { size: 256 });
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([256, 256, 3]);
    await expect(renderSingle(px, { n: 3, h: 64, w: 64, c: 3 }, 3)).rejects.toThrow(/out of range/);
  });

  it('lanczos keeps a flat image flat and an upscaled ramp monotonic', () => {
    const flat = new Uint8Array(8 * 8).fill(77);
    expect(resizeImage(flat, 8, 8, 1, 40, 'lanczos3').every((v) => v === 77)).toBe(true);
    const ramp = Uint8Array.from({ length: 16 * 16 }, (_, i) => (i % 16) * 16);
    const up = resizeImage(ramp, 16, 16, 1, 64, 'lanczos3');
    for (let x = 4; x < 60; x++) expect(up[10 * 64 + x + 1]).toBeGreaterThanOrEqual(up[10 * 64 + x]);
    // Downscaling a fine checkerboard averages it to grey instead of aliasing.
    const checker = Uint8Array.from({ length: 32 * 32 }, (_, i) => (((i % 32) + Math.floor(i / 32)) % 2 ? 255 : 0));
    const down = resizeImage(checker, 32, 32, 1, 8, 'lanczos3');
    for (const v of down.subarray(16, 48)) expect(Math.abs(v - 128)).toBeLessThan(20);
  });
});

describe('renderLossPlot', () => {
  it('plots both curves in their colours and handles an empty history', async () => {
    const series = Array.from({ length: 500 }, (_, i) => ({
      step: i * 10,
      lossD: 1.4 - i / 1000,
      lossG: 0.7 + i / 500,
    }));
    const png = await renderLossPlot(series, { title: 'run v1' });
    const { data, info } = await decode(png);
    expect([info.width, info.height, info.channels]).toEqual([640, 320, 3]);
    let blue = 0,
      orange = 0;
    for (let p = 0; p < info.width * info.height; p++) {
      const [r, g, b] = [data[p * 3], data[p * 3 + 1], data[p * 3 + 2]];
      if (r === 31 && g === 119 && b === 180) blue++;
      if (r === 230 && g === 110 && b === 10) orange++;
    }
    expect(blue).toBeGreaterThan(500);
    expect(orange).toBeGreaterThan(500);
    expect(Buffer.compare(png, await renderLossPlot(series, { title: 'run v1' }))).toBe(0);
    const empty = await sharp(await renderLossPlot([], { width: 300, height: 200 })).metadata();
    expect([empty.width, empty.height]).toEqual([300, 200]);
    const one = await sharp(await renderLossPlot([{ step: 5, lossD: 1, lossG: 2 }])).metadata();
    expect(one.width).toBe(640);
  });
});
