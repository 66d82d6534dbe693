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

/** Per design (by index): its pixels and shape once drawn, and whether the active generator stood in. */
interface Drawn {
  pixels: (Float32Array | undefined)[];
  shapes: (Shape | undefined)[];
  substituted: boolean[];
}

/** `latents[i]` for the designs `idx`, one after another ([idx.length, nz]). */
function joinLatents(latents: Float32Array[], idx: number[], nz: number): Float32Array {
  const lat = new Float32Array(idx.length * nz);
  idx.forEach((i, k) => lat.set(latents[i], k * nz));
  return lat;
}

/**
 * Draws the designs `idx` with checkpoint `version` loaded from MODELS_DIR (those of its latent
 * size); false, drawing nothing, when it cannot be loaded.
 */
async function drawWithCheckpoint(
  ctx: BotContext,
  version: string,
  idx: number[],
  latents: Float32Array[],
  drawn: Drawn,
): Promise<boolean> {
  let loaded;
  try {
    loaded = await loadGeneratorCheckpoint(ctx.config.MODELS_DIR, version);
  } catch {
    return false;
  }
  try {
    const nz = loaded.config.nz;
    const ok = idx.filter((i) => latents[i].length === nz);
    if (!ok.length) return true;
    const out = await generate(loaded.model, joinLatents(latents, ok, nz), ok.length);
    const { h, w, c } = outputShape(loaded.model, ok.length);
    ok.forEach((i, k) => {
      drawn.pixels[i] = out.slice(k * h * w * c, (k + 1) * h * w * c);
      drawn.shapes[i] = { h, w, c };
    });
    return true;
  } finally {
    loaded.model.dispose();
  }
}

/** Draws the designs `idx` of the active generator's latent size through the generation service. */
async function drawWithActive(
  ctx: BotContext,
  nz: number,
  idx: number[],
  latents: Float32Array[],
  drawn: Drawn,
): Promise<void> {
  const ok = idx.filter((i) => latents[i].length === nz);
  for (let s = 0; s < ok.length; s += ctx.generation.maxBatch) {
    const part = ok.slice(s, s + ctx.generation.maxBatch);
    const r = await ctx.generation.generate(joinLatents(latents, part, nz), part.length);
    const per = r.shape.h * r.shape.w * r.shape.c;
    part.forEach((i, k) => {
      drawn.pixels[i] = r.pixels.slice(k * per, (k + 1) * per);
      drawn.shapes[i] = { h: r.shape.h, w: r.shape.w, c: r.shape.c };
    });
  }
}

/**
 * Draws designs (at most `maxOldCheckpoints` old checkpoints loaded) grouped by checkpoint; returns
 * per-design pixels and shapes (undefined if undrawable) and whether the active one stood in.
 */
export async function drawDesigns(ctx: BotContext, designs: DesignRow[], maxOldCheckpoints: number): Promise<Drawn> {
  const active = ctx.generation.active;
  const drawn: Drawn = {
    pixels: designs.map(() => undefined),
    shapes: designs.map(() => undefined),
    substituted: designs.map(() => false),
  };
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
    if (++oldLoads > maxOldCheckpoints || !(await drawWithCheckpoint(ctx, version, idx, latents, drawn))) {
      for (const i of idx) drawn.substituted[i] = true;
      viaActive.push(...idx);
    }
  }
  if (viaActive.length && active) await drawWithActive(ctx, active.nz, viaActive, latents, drawn);
  return drawn;
}
