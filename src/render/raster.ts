/**
 * A tiny RGB raster to draw charts on (the loss plot): pixels, lines and
 * filled rectangles, clipped to the image. Text goes through font.ts's
 * drawText on the same buffer.
 */

/** RGB uint8 image, row-major, 3 bytes per pixel. */
export interface Raster {
  data: Uint8Array;
  width: number;
  height: number;
}

/** [r, g, b], each 0..255. */
export type Rgb = number[];

/** A white `width`x`height` raster. */
export function whiteRaster(width: number, height: number): Raster {
  return { data: new Uint8Array(width * height * 3).fill(255), width, height };
}

/** Paints pixel (x, y) with `col`; points outside the raster are ignored. */
export function setPixel(r: Raster, x: number, y: number, col: Rgb): void {
  if (x < 0 || y < 0 || x >= r.width || y >= r.height) return;
  const o = (y * r.width + x) * 3;
  r.data[o] = col[0];
  r.data[o + 1] = col[1];
  r.data[o + 2] = col[2];
}

/** Fills the `w`x`h` rectangle whose top-left corner is (x, y). */
export function fillRect(r: Raster, x: number, y: number, w: number, h: number, col: Rgb): void {
  for (let a = 0; a < w; a++) for (let b = 0; b < h; b++) setPixel(r, x + a, y + b, col);
}

/**
 * Draws a line between the rounded end points (Bresenham); thickness by
 * drawing a `thick`x`thick` square at each point.
 */
export function drawLine(r: Raster, x0: number, y0: number, x1: number, y1: number, col: Rgb, thick = 1): void {
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
    fillRect(r, x0, y0, thick, thick, col);
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
}
