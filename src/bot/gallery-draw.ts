/**
 * Drawing for /gallery: redraws voted designs from their stored latents with
 * the checkpoint that drew them (a few old ones at most), else with the active
 * generator, and fits tiles of different sizes into one grid.
 */
import { loadGeneratorCheckpoint } from '../gan/checkpoint-load.ts';
import { generate, outputShape } from '../gan/generate.ts';
import { bytesToLatent, type DesignRow } from './store.ts';
import type { BotContext } from './types.ts';

export type Shape = { h: number; w: number; c: number };

/**
 * Nearest-neighbour resample of one NHWC image ([-1,1] floats) to `to`; grey
 * is repeated into RGB when `to` has 3 channels. Lets designs of checkpoints
 * with different image sizes share one grid.
 */
export function resizeTile(px: Float32Array, from: Shape, to: Shape): Float32Array {
  if (from.h === to.h && from.w === to.w && from.c === to.c) return px;
  const out = new Float32Array(to.h * to.w * to.c);
  for (let y = 0; y < to.h; y++) {
    const sy = Math.min(from.h - 1, Math.floor((y * from.h) / to.h));
    for (let x = 0; x < to.w; x++) {
      const sx = Math.min(from.w - 1, Math.floor((x * from.w) / to.w));
      const si = (sy * from.w + sx) * from.c;
      const di = (y * to.w + x) * to.c;
      for (let k = 0; k < to.c; k++) out[di + k] = px[si + Math.min(k, from.c - 1)];
    }
  }
  return out;
}

/** Draws designs (at most `maxOldCheckpoints` old checkpoints loaded) grouped by checkpoint; returns per-design pixels and shapes (undefined if undrawable) and whether the active one stood in. */
export async function drawDesigns(
  ctx: BotContext,
  designs: DesignRow[],
  maxOldCheckpoints: number,
): Promise<{ pixels: (Float32Array | undefined)[]; shapes: (Shape | undefined)[]; substituted: boolean[] }> {
  const active = ctx.generation.active;
  const pixels: (Float32Array | undefined)[] = designs.map(() => undefined);
  const shapes: (Shape | undefined)[] = designs.map(() => undefined);
  const substituted = designs.map(() => false);
  // Decoded once: each latent is checked against the drawing generator's nz and then copied.
  const latents = designs.map((d) => bytesToLatent(d.latent));
  const byVersion = new Map<string, number[]>();
  designs.forEach((d, i) => byVersion.set(d.checkpointVersion, [...(byVersion.get(d.checkpointVersion) ?? []), i]));

  const viaActive: number[] = [];
  // Loading a checkpoint costs time: redraw with at most a few old ones, the rest with the active one.
  let oldLoads = 0;
  for (const [version, idx] of byVersion) {
    if (version === active?.version) {
      viaActive.push(...idx);
      continue;
    }
    if (++oldLoads > maxOldCheckpoints) {
      for (const i of idx) substituted[i] = true;
      viaActive.push(...idx);
      continue;
    }
    let loaded;
    try {
      loaded = await loadGeneratorCheckpoint(ctx.config.MODELS_DIR, version);
    } catch {
      for (const i of idx) substituted[i] = true;
      viaActive.push(...idx);
      continue;
    }
    try {
      const nz = loaded.config.nz;
      const ok = idx.filter((i) => latents[i].length === nz);
      if (!ok.length) continue;
      const lat = new Float32Array(ok.length * nz);
      ok.forEach((i, k) => lat.set(latents[i], k * nz));
      const out = await generate(loaded.model, lat, ok.length);
      const { h, w, c } = outputShape(loaded.model, ok.length);
      ok.forEach((i, k) => {
        pixels[i] = out.slice(k * h * w * c, (k + 1) * h * w * c);
        shapes[i] = { h, w, c };
      });
    } finally {
      loaded.model.dispose();
    }
  }
  if (viaActive.length && active) {
    const nz = active.nz;
    const ok = viaActive.filter((i) => latents[i].length === nz);
    for (let s = 0; s < ok.length; s += ctx.generation.maxBatch) {
      const part = ok.slice(s, s + ctx.generation.maxBatch);
      const lat = new Float32Array(part.length * nz);
      part.forEach((i, k) => lat.set(latents[i], k * nz));
      const r = await ctx.generation.generate(lat, part.length);
      const per = r.shape.h * r.shape.w * r.shape.c;
      part.forEach((i, k) => {
        pixels[i] = r.pixels.slice(k * per, (k + 1) * per);
        shapes[i] = { h: r.shape.h, w: r.shape.w, c: r.shape.c };
      });
    }
  }
  return { pixels, shapes, substituted };
}
