/**
 * The training loss plot for /train status: discriminator and generator loss
 * against training step as an RGB PNG with axes, ticks and a legend. Same
 * input -> same PNG bytes.
 */
import { drawText, textWidth } from './font.ts';
import { encodePng } from './pixels.ts';
import { drawLine, fillRect, whiteRaster, type Raster, type Rgb } from './raster.ts';

export interface LossPoint {
  step: number;
  lossD: number;
  lossG: number;
}

const INK: Rgb = [40, 40, 40];
const GRID: Rgb = [225, 225, 225];
const COLORS: Record<'d' | 'g', Rgb> = { d: [31, 119, 180], g: [230, 110, 10] };
/** Margins around the plot area, in pixels. */
const LEFT = 52,
  RIGHT = 12,
  TOP = 28,
  BOTTOM = 30;

/** Where the plot area lies and how steps and losses map onto it. */
interface Axes {
  pw: number;
  ph: number;
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
  yStep: number;
  px(step: number): number;
  py(loss: number): number;
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

function text(r: Raster, x: number, y: number, s: string, scale = 1): void {
  drawText(r.data, r.width, r.height, 3, x, y, s, INK, scale);
}

/**
 * Axes for `pts` (sorted by step, at least one): the y range ignores the top
 * 1% of values so one early spike does not flatten the curves.
 */
function fitAxes(pts: LossPoint[], r: Raster): Axes {
  const pw = r.width - LEFT - RIGHT,
    ph = r.height - TOP - BOTTOM;
  const xMin = pts[0].step;
  const xMax = pts.length > 1 && pts[pts.length - 1].step > xMin ? pts[pts.length - 1].step : xMin + 1;
  const vals = pts.flatMap((p) => [p.lossD, p.lossG]).sort((a, b) => a - b);
  const hi = vals[Math.min(vals.length - 1, Math.floor(0.99 * (vals.length - 1)))];
  const lo = Math.min(0, vals[0]);
  const yStep = niceStep(Math.max(hi - lo, 1e-3), 5);
  const yMax = Math.ceil((hi * 1.05) / yStep) * yStep || yStep;
  const yMin = Math.floor(lo / yStep) * yStep;
  const px = (s: number): number => LEFT + ((s - xMin) / (xMax - xMin)) * (pw - 1);
  const py = (v: number): number =>
    TOP + ph - 1 - ((Math.min(Math.max(v, yMin), yMax) - yMin) / (yMax - yMin)) * (ph - 1);
  return { pw, ph, xMin, xMax, yMin, yMax, yStep, px, py };
}

/** Grid lines with tick labels on both axes, the axis lines and the "STEP" caption. */
function drawAxes(r: Raster, ax: Axes): void {
  const { pw, ph, xMin, xMax, yMin, yMax, yStep, px, py } = ax;
  for (let v = yMin; v <= yMax + yStep / 2; v += yStep) {
    const y = Math.round(py(v));
    drawLine(r, LEFT, y, LEFT + pw - 1, y, GRID);
    const t = fmtTick(+v.toPrecision(6));
    text(r, LEFT - 6 - textWidth(t), y - 3, t);
  }
  const xStep = niceStep(xMax - xMin, 6);
  for (let s = Math.ceil(xMin / xStep) * xStep; s <= xMax; s += xStep) {
    const x = Math.round(px(s));
    drawLine(r, x, TOP, x, TOP + ph - 1, GRID);
    const t = fmtTick(s);
    text(r, x - Math.floor(textWidth(t) / 2), TOP + ph + 6, t);
  }
  drawLine(r, LEFT, TOP, LEFT, TOP + ph - 1, INK);
  drawLine(r, LEFT, TOP + ph - 1, LEFT + pw - 1, TOP + ph - 1, INK);
  text(r, LEFT + pw - textWidth('STEP'), r.height - 10, 'STEP');
}

/** One loss curve, averaged per pixel column so thousands of steps draw as a clean line. */
function drawCurve(r: Raster, ax: Axes, pts: LossPoint[], key: 'lossD' | 'lossG', col: Rgb): void {
  const { px, py } = ax;
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
    drawLine(r, x - 2, py(e.s / e.n), x + 2, py(e.s / e.n), col, 2);
  }
  for (let i = 1; i < cols.length; i++) {
    const [x0, e0] = cols[i - 1];
    const [x1, e1] = cols[i];
    drawLine(r, x0, py(e0.s / e0.n), x1, py(e1.s / e1.n), col, 2);
  }
}

/** Colour swatches and labels, top right. */
function drawLegend(r: Raster): void {
  let lx = r.width - RIGHT - (textWidth('LOSS D') + textWidth('LOSS G') + 48);
  for (const [label, col] of [
    ['LOSS D', COLORS.d],
    ['LOSS G', COLORS.g],
  ] as const) {
    fillRect(r, lx, 11, 14, 4, col);
    text(r, lx + 18, 9, label);
    lx += 18 + textWidth(label) + 12;
  }
}

/**
 * Plots `series` (points with a non-finite field are skipped) as an RGB PNG
 * of `width`x`height` (default 640x320) with an optional title; returns the
 * PNG bytes. Without points it says "NO TRAINING DATA YET".
 */
export async function renderLossPlot(
  series: LossPoint[],
  opts: { width?: number; height?: number; title?: string } = {},
): Promise<Buffer> {
  const r = whiteRaster(opts.width ?? 640, opts.height ?? 320);
  if (opts.title) text(r, LEFT, 8, opts.title);
  const pts = series.filter((p) => Number.isFinite(p.step) && Number.isFinite(p.lossD) && Number.isFinite(p.lossG));
  if (pts.length === 0) {
    const msg = 'NO TRAINING DATA YET';
    text(r, Math.floor((r.width - textWidth(msg, 2)) / 2), Math.floor(r.height / 2) - 7, msg, 2);
  } else {
    pts.sort((a, b) => a.step - b.step);
    const ax = fitAxes(pts, r);
    drawAxes(r, ax);
    drawCurve(r, ax, pts, 'lossD', COLORS.d);
    drawCurve(r, ax, pts, 'lossG', COLORS.g);
    drawLegend(r);
  }
  return encodePng(r.data, r.width, r.height, 3);
}
