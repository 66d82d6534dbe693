/**
 * Turns generator output into PNGs (encoded by sharp): a grid of designs (with
 * optional labels such as seeds), one design enlarged, and the training loss
 * plot for /train status. Same input -> same PNG bytes (no metadata, no
 * timestamps, text drawn with a built-in bitmap font).
 */
import sharp from 'sharp';
import { drawText, textWidth, GLYPH_H } from './font.ts';

export interface ImageShape {
  n: number;
  h: number;
  w: number;
  c: number;
}

export type UpscaleKernel = 'nearest' | 'lanczos3';

export interface GridOptions {
  /** Columns (default: ceil(sqrt(n))). */
  cols?: number;
  /** Pixels per tile side after upscaling (default: the design size times round(128 / size), at least 1x). */
  tile?: number;
  /** One label per design drawn under its tile (e.g. "#1 seed 42"). */
  labels?: string[];
  /** Upscale kernel (default lanczos3: smooth; nearest shows the real pixels). */
  kernel?: UpscaleKernel;
  /** Gap between tiles and around the grid in pixels (default 4). */
  gap?: number;
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

function checkShape(pixels: Float32Array, shape: ImageShape): void {
  const { n, h, w, c } = shape;
  if (![n, h, w].every((v) => Number.isInteger(v) && v > 0) || (c !== 1 && c !== 3)) {
    throw new Error(`bad image shape ${JSON.stringify(shape)} (need n, h, w > 0 and c = 1 or 3)`);
  }
  if (pixels.length !== n * h * w * c)
    throw new Error(`pixel array has ${pixels.length} values, shape ${n}x${h}x${w}x${c} needs ${n * h * w * c}`);
}

/** Lanczos window with a = 3. */
function lanczos3(x: number): number {
  if (x === 0) return 1;
  if (x <= -3 || x >= 3) return 0;
  const px = Math.PI * x;
  return (3 * Math.sin(px) * Math.sin(px / 3)) / (px * px);
}

/**
 * Per output coordinate, the source indices and normalised weights of a 1-D
 * resampling from `src` to `dst` samples (pixel centres aligned, edges clamped).
 */
function resampleTaps(
  src: number,
  dst: number,
  kernel: UpscaleKernel,
): { idx: Int32Array; w: Float64Array; taps: number } {
  const scale = dst / src;
  if (kernel === 'nearest') {
    const idx = new Int32Array(dst);
    for (let o = 0; o < dst; o++) idx[o] = Math.min(src - 1, Math.floor((o + 0.5) / scale));
    return { idx, w: new Float64Array(dst).fill(1), taps: 1 };
  }
  // Widen the kernel when shrinking so it still low-pass filters.
  const stretch = Math.max(1, 1 / scale);
  const support = 3 * stretch;
  const taps = Math.ceil(2 * support) + 1;
  const idx = new Int32Array(dst * taps);
  const w = new Float64Array(dst * taps);
  for (let o = 0; o < dst; o++) {
    const centre = (o + 0.5) / scale - 0.5;
    const first = Math.floor(centre - support) + 1;
    let sum = 0;
    for (let t = 0; t < taps; t++) {
      const i = first + t;
      const wt = lanczos3((centre - i) / stretch);
      idx[o * taps + t] = Math.min(src - 1, Math.max(0, i));
      w[o * taps + t] = wt;
      sum += wt;
    }
    for (let t = 0; t < taps; t++) w[o * taps + t] /= sum;
  }
  return { idx, w, taps };
}

/**
 * Resizes one uint8 HWC image to `tile`x`tile` in plain JavaScript (separable
 * nearest or Lanczos-3). Doing it here instead of one sharp pipeline per tile
 * is ~5x faster for a 16-design grid and bit-identical on every platform.
 */
export function resizeImage(
  img: Uint8Array,
  h: number,
  w: number,
  c: number,
  tile: number,
  kernel: UpscaleKernel,
): Uint8Array {
  if (tile === h && tile === w) return img;
  if (c !== 1 && c !== 3) throw new Error(`resizeImage: 1 or 3 channels, got ${c}`);
  const tx = resampleTaps(w, tile, kernel);
  const ty = resampleTaps(h, tile, kernel);
  // Horizontal pass into floats (all channels of a pixel per tap), then vertical pass with rounding.
  const mid = new Float64Array(h * tile * c);
  const T = tx.taps;
  for (let y = 0; y < h; y++) {
    const row = y * w * c;
    for (let o = 0; o < tile; o++) {
      const m = (y * tile + o) * c;
      if (c === 1) {
        let a0 = 0;
        for (let t = 0; t < T; t++) a0 += tx.w[o * T + t] * img[row + tx.idx[o * T + t]];
        mid[m] = a0;
      } else {
        let a0 = 0,
          a1 = 0,
          a2 = 0;
        for (let t = 0; t < T; t++) {
          const wt = tx.w[o * T + t];
          const si = row + tx.idx[o * T + t] * 3;
          a0 += wt * img[si];
          a1 += wt * img[si + 1];
          a2 += wt * img[si + 2];
        }
        mid[m] = a0;
        mid[m + 1] = a1;
        mid[m + 2] = a2;
      }
    }
  }
  // Vertical pass row by row: contiguous memory, few index computations.
  const rowLen = tile * c;
  const out = new Uint8Array(tile * rowLen);
  const acc = new Float64Array(rowLen);
  for (let o = 0; o < tile; o++) {
    acc.fill(0);
    for (let t = 0; t < ty.taps; t++) {
      const wt = ty.w[o * ty.taps + t];
      if (wt === 0) continue;
      const base = ty.idx[o * ty.taps + t] * rowLen;
      for (let x = 0; x < rowLen; x++) acc[x] += wt * mid[base + x];
    }
    const ob = o * rowLen;
    for (let x = 0; x < rowLen; x++) {
      const v = Math.round(acc[x]);
      out[ob + x] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}

function encodePng(raw: Uint8Array, width: number, height: number, channels: 1 | 3): Promise<Buffer> {
  const img = sharp(raw, { raw: { width, height, channels } });
  // Without an explicit colourspace libvips writes 1-band input as RGB.
  return (channels === 1 ? img.toColourspace('b-w') : img)
    .png({ compressionLevel: 6, adaptiveFiltering: false })
    .toBuffer();
}

/**
 * Renders designs as one PNG grid. `pixels`: Float32Array in [-1, 1], NHWC
 * with `shape` (c = 1 grey or 3 RGB). Returns PNG bytes, grey or RGB like the input.
 */
export async function renderGrid(pixels: Float32Array, shape: ImageShape, opts: GridOptions = {}): Promise<Buffer> {
  checkShape(pixels, shape);
  const { n, h, w } = shape;
  const c = shape.c as 1 | 3;
  const cols = Math.max(1, Math.min(n, opts.cols ?? Math.ceil(Math.sqrt(n))));
  const rows = Math.ceil(n / cols);
  const tile = opts.tile ?? h * Math.max(1, Math.round(128 / h));
  if (!Number.isInteger(tile) || tile < 1 || tile > 2048)
    throw new Error(`tile must be an integer in 1..2048, got ${tile}`);
  const gap = opts.gap ?? 4;
  const kernel = opts.kernel ?? 'lanczos3';
  const labels = opts.labels;
  if (labels && labels.length !== n) throw new Error(`got ${labels.length} labels for ${n} designs`);
  // Big text only when every label fits under its tile at that size.
  const scale = tile >= 96 && (labels ?? []).every((l) => textWidth(l, 2) <= tile) ? 2 : 1;
  const labelH = labels ? GLYPH_H * scale + 2 * gap : 0;

  const width = cols * tile + (cols + 1) * gap;
  const height = rows * (tile + labelH) + (rows + 1) * gap;
  const canvas = new Uint8Array(width * height * c).fill(255);
  const per = h * w * c;
  const tiles = Array.from({ length: n }, (_, i) => resizeImage(toUint8(pixels, i * per, per), h, w, c, tile, kernel));
  for (let i = 0; i < n; i++) {
    const x0 = gap + (i % cols) * (tile + gap);
    const y0 = gap + Math.floor(i / cols) * (tile + labelH + gap);
    const t = tiles[i];
    for (let y = 0; y < tile; y++)
      canvas.set(t.subarray(y * tile * c, (y + 1) * tile * c), ((y0 + y) * width + x0) * c);
    if (labels) {
      // Truncate labels that would overflow the tile rather than overlap the neighbour.
      let text = labels[i];
      while (text.length > 0 && textWidth(text, scale) > tile) text = text.slice(0, -1);
      const tx = x0 + Math.floor((tile - textWidth(text, scale)) / 2);
      drawText(canvas, width, height, c, tx, y0 + tile + gap, text, [32, 32, 32], scale);
    }
  }
  return encodePng(canvas, width, height, c);
}

/**
 * Renders design `index` of `pixels` ([-1, 1] NHWC) alone at `size`x`size`
 * pixels (default 512) — the "upscale" button's image.
 */
export async function renderSingle(
  pixels: Float32Array,
  shape: ImageShape,
  index = 0,
  opts: { size?: number; kernel?: UpscaleKernel } = {},
): Promise<Buffer> {
  checkShape(pixels, shape);
  if (!Number.isInteger(index) || index < 0 || index >= shape.n)
    throw new Error(`design index ${index} out of range 0..${shape.n - 1}`);
  const size = opts.size ?? 512;
  if (!Number.isInteger(size) || size < 1 || size > 4096)
    throw new Error(`size must be an integer in 1..4096, got ${size}`);
  const per = shape.h * shape.w * shape.c;
  const c = shape.c as 1 | 3;
  const raw = resizeImage(toUint8(pixels, index * per, per), shape.h, shape.w, c, size, opts.kernel ?? 'lanczos3');
  return encodePng(raw, size, size, c);
}

export interface LossPoint {
  step: number;
  lossD: number;
  lossG: number;
}

/** "Nice" tick step (1, 2 or 5 times a power of ten) for about `count` ticks over `range`. */
function niceStep(range: number, count: number): number {
  const raw = range / Math.max(1, count);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

function fmtTick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  if (Number.isInteger(v)) return String(v);
  return String(+v.toFixed(2));
}

/**
 * Plots discriminator and generator loss against training step as an RGB
 * PNG (default 640x320) with axes, ticks and a legend. Many points are
 * averaged per pixel column; the y range ignores the top 1% of values so one
 * early spike does not flatten the curves.
 */
export async function renderLossPlot(
  series: LossPoint[],
  opts: { width?: number; height?: number; title?: string } = {},
): Promise<Buffer> {
  const W = opts.width ?? 640;
  const H = opts.height ?? 320;
  const img = new Uint8Array(W * H * 3).fill(255);
  const set = (x: number, y: number, col: number[]): void => {
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    const o = (y * W + x) * 3;
    img[o] = col[0];
    img[o + 1] = col[1];
    img[o + 2] = col[2];
  };
  const line = (x0: number, y0: number, x1: number, y1: number, col: number[], thick = 1): void => {
    // Bresenham; thickness by drawing a small square at each point.
    x0 = Math.round(x0);
    y0 = Math.round(y0);
    x1 = Math.round(x1);
    y1 = Math.round(y1);
    const dx = Math.abs(x1 - x0),
      dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1,
      sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    for (;;) {
      for (let a = 0; a < thick; a++) for (let b = 0; b < thick; b++) set(x0 + a, y0 + b, col);
      if (x0 === x1 && y0 === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  };
  const INK = [40, 40, 40];
  const GRID = [225, 225, 225];
  const COLORS = { d: [31, 119, 180], g: [230, 110, 10] };
  const left = 52,
    right = 12,
    top = 28,
    bottom = 30;
  const pw = W - left - right,
    ph = H - top - bottom;

  if (opts.title) drawText(img, W, H, 3, left, 8, opts.title, INK, 1);
  const pts = series.filter((p) => Number.isFinite(p.step) && Number.isFinite(p.lossD) && Number.isFinite(p.lossG));
  if (pts.length === 0) {
    const msg = 'NO TRAINING DATA YET';
    drawText(img, W, H, 3, Math.floor((W - textWidth(msg, 2)) / 2), Math.floor(H / 2) - 7, msg, INK, 2);
    return encodePng(img, W, H, 3);
  }
  pts.sort((a, b) => a.step - b.step);
  const xMin = pts[0].step;
  const xMax = pts.length > 1 && pts[pts.length - 1].step > xMin ? pts[pts.length - 1].step : xMin + 1;
  const vals = pts.flatMap((p) => [p.lossD, p.lossG]).sort((a, b) => a - b);
  const hi = vals[Math.min(vals.length - 1, Math.floor(0.99 * (vals.length - 1)))];
  const lo = Math.min(0, vals[0]);
  const yStep = niceStep(Math.max(hi - lo, 1e-3), 5);
  const yMax = Math.ceil((hi * 1.05) / yStep) * yStep || yStep;
  const yMin = Math.floor(lo / yStep) * yStep;
  const px = (s: number): number => left + ((s - xMin) / (xMax - xMin)) * (pw - 1);
  const py = (v: number): number =>
    top + ph - 1 - ((Math.min(Math.max(v, yMin), yMax) - yMin) / (yMax - yMin)) * (ph - 1);

  // Grid lines and tick labels.
  for (let v = yMin; v <= yMax + yStep / 2; v += yStep) {
    const y = Math.round(py(v));
    line(left, y, left + pw - 1, y, GRID);
    const t = fmtTick(+v.toPrecision(6));
    drawText(img, W, H, 3, left - 6 - textWidth(t), y - 3, t, INK);
  }
  const xStep = niceStep(xMax - xMin, 6);
  for (let s = Math.ceil(xMin / xStep) * xStep; s <= xMax; s += xStep) {
    const x = Math.round(px(s));
    line(x, top, x, top + ph - 1, GRID);
    const t = fmtTick(s);
    drawText(img, W, H, 3, x - Math.floor(textWidth(t) / 2), top + ph + 6, t, INK);
  }
  line(left, top, left, top + ph - 1, INK);
  line(left, top + ph - 1, left + pw - 1, top + ph - 1, INK);
  drawText(img, W, H, 3, left + pw - textWidth('STEP'), H - 10, 'STEP', INK);

  // Average per pixel column so thousands of steps draw as a clean line.
  for (const [key, col] of [
    ['lossD', COLORS.d],
    ['lossG', COLORS.g],
  ] as const) {
    const sums = new Map<number, { s: number; n: number }>();
    for (const p of pts) {
      const x = Math.round(px(p.step));
      const e = sums.get(x) ?? { s: 0, n: 0 };
      e.s += p[key];
      e.n++;
      sums.set(x, e);
    }
    const cols = [...sums.entries()].sort((a, b) => a[0] - b[0]);
    if (cols.length === 1) {
      const [x, e] = cols[0];
      line(x - 2, py(e.s / e.n), x + 2, py(e.s / e.n), col, 2);
    }
    for (let i = 1; i < cols.length; i++) {
      line(
        cols[i - 1][0],
        py(cols[i - 1][1].s / cols[i - 1][1].n),
        cols[i][0],
        py(cols[i][1].s / cols[i][1].n),
        col,
        2,
      );
    }
  }

  // Legend, top right.
  let lx = W - right - (textWidth('LOSS D') + textWidth('LOSS G') + 48);
  for (const [label, col] of [
    ['LOSS D', COLORS.d],
    ['LOSS G', COLORS.g],
  ] as const) {
    for (let a = 0; a < 14; a++) for (let b = 0; b < 4; b++) set(lx + a, 11 + b, col);
    drawText(img, W, H, 3, lx + 18, 9, label, INK);
    lx += 18 + textWidth(label) + 12;
  }
  return encodePng(img, W, H, 3);
}
