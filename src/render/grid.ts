/**
 * Turns generator output into design PNGs (encoded by sharp): a grid of
 * designs (with optional labels such as seeds) and one design enlarged. Same
 * input -> same PNG bytes (no metadata, no timestamps, text drawn with a
 * built-in bitmap font).
 */
import { drawText, textWidth, GLYPH_H } from './font.ts';
import { checkShape, encodePng, toUint8, type ImageShape } from './pixels.ts';
import { resizeImage, type UpscaleKernel } from './resize.ts';

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

/** Where a grid's tiles and labels go: the options resolved and checked, and the canvas size. */
interface GridLayout {
  cols: number;
  tile: number;
  gap: number;
  kernel: UpscaleKernel;
  labels: string[] | undefined;
  /** Label text scale (1 or 2) and the height of the strip under each tile (0 without labels). */
  scale: number;
  labelH: number;
  width: number;
  height: number;
}

function gridLayout(shape: ImageShape, opts: GridOptions): GridLayout {
  const { n, h } = shape;
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
  return { cols, tile, gap, kernel, labels, scale, labelH, width, height };
}

/** Draws `label` centred under the tile whose top-left corner is (x0, y0). */
function drawLabel(canvas: Uint8Array, c: 1 | 3, L: GridLayout, x0: number, y0: number, label: string): void {
  const { tile, gap, scale } = L;
  // Truncate labels that would overflow the tile rather than overlap the neighbour.
  let text = label;
  while (text.length > 0 && textWidth(text, scale) > tile) text = text.slice(0, -1);
  const tx = x0 + Math.floor((tile - textWidth(text, scale)) / 2);
  drawText(canvas, L.width, L.height, c, tx, y0 + tile + gap, text, [32, 32, 32], scale);
}

/**
 * Renders designs as one PNG grid. `pixels`: Float32Array in [-1, 1], NHWC
 * with `shape` (c = 1 grey or 3 RGB). Returns PNG bytes, grey or RGB like the input.
 */
export async function renderGrid(pixels: Float32Array, shape: ImageShape, opts: GridOptions = {}): Promise<Buffer> {
  checkShape(pixels, shape);
  const { n, h, w } = shape;
  const c = shape.c as 1 | 3;
  const L = gridLayout(shape, opts);
  const { cols, tile, gap, width } = L;
  const canvas = new Uint8Array(width * L.height * c).fill(255);
  const per = h * w * c;
  const tiles = Array.from({ length: n }, (_, i) =>
    resizeImage(toUint8(pixels, i * per, per), h, w, c, tile, L.kernel),
  );
  for (let i = 0; i < n; i++) {
    const x0 = gap + (i % cols) * (tile + gap);
    const y0 = gap + Math.floor(i / cols) * (tile + L.labelH + gap);
    const t = tiles[i];
    for (let y = 0; y < tile; y++)
      canvas.set(t.subarray(y * tile * c, (y + 1) * tile * c), ((y0 + y) * width + x0) * c);
    if (L.labels) drawLabel(canvas, c, L, x0, y0, L.labels[i]);
  }
  return encodePng(canvas, width, L.height, c);
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
