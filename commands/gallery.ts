/**
 * /gallery — this server's most-voted designs as one image with vote counts.
 * Designs are redrawn from their stored latents with the checkpoint that drew
 * them when it is still on disk (else with the active one, marked "*").
 */
import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { loadGeneratorCheckpoint } from '../src/gan/checkpoint.ts';
import { generate } from '../src/gan/generate.ts';
import { intOption, seedLabel } from '../src/bot/design-message.ts';
import { UserError } from '../src/bot/errors.ts';
import { bytesToLatent, type DesignRow } from '../src/bot/store.ts';
import type { BotContext } from '../src/bot/types.ts';

const DEFAULT_LIMIT = 8;
const MAX_LIMIT = 16;
const MAX_OLD_CHECKPOINTS = 3;

export const data = new SlashCommandBuilder()
  .setName('gallery')
  .setDescription("This server's most-voted sneaker designs")
  .addIntegerOption((o) => o.setName('top').setDescription(`How many designs (1-${MAX_LIMIT}, default ${DEFAULT_LIMIT})`).setMinValue(1).setMaxValue(MAX_LIMIT));

type Shape = { h: number; w: number; c: number };

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

/** Draws designs grouped by checkpoint; returns per-design pixels and shapes (undefined if undrawable) and whether the active one stood in. */
async function drawAll(ctx: BotContext, designs: DesignRow[]): Promise<{ pixels: (Float32Array | undefined)[]; shapes: (Shape | undefined)[]; substituted: boolean[] }> {
  const active = ctx.generation.active;
  const pixels: (Float32Array | undefined)[] = designs.map(() => undefined);
  const shapes: (Shape | undefined)[] = designs.map(() => undefined);
  const substituted = designs.map(() => false);
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
    if (++oldLoads > MAX_OLD_CHECKPOINTS) {
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
      const ok = idx.filter((i) => bytesToLatent(designs[i].latent).length === nz);
      if (!ok.length) continue;
      const lat = new Float32Array(ok.length * nz);
      ok.forEach((i, k) => lat.set(bytesToLatent(designs[i].latent), k * nz));
      const out = await generate(loaded.model, lat, ok.length);
      const [, h, w, c] = loaded.model.outputs[0].shape as [null, number, number, number];
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
    const ok = viaActive.filter((i) => bytesToLatent(designs[i].latent).length === nz);
    for (let s = 0; s < ok.length; s += ctx.generation.maxBatch) {
      const part = ok.slice(s, s + ctx.generation.maxBatch);
      const lat = new Float32Array(part.length * nz);
      part.forEach((i, k) => lat.set(bytesToLatent(designs[i].latent), k * nz));
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

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const limit = intOption(interaction.options.get('top')?.value, 'top', 1, MAX_LIMIT) ?? DEFAULT_LIMIT;
  const top = await ctx.store.topDesigns(interaction.guildId, limit);
  if (!top.length) throw new UserError('No votes yet in this server. Run `/shoe` and vote with the number reactions!');
  ctx.generation.admit(interaction.user.id);
  await interaction.deferReply();
  const { pixels, shapes, substituted } = await drawAll(ctx, top.map((t) => t.design));
  const shown = top.map((t, i) => ({ ...t, px: pixels[i], shape: shapes[i], sub: substituted[i] })).filter((t) => t.px && t.shape);
  if (!shown.length) throw new UserError("The top designs can't be redrawn with the checkpoints available now.");
  // Checkpoints of different image sizes share one grid: every tile is resampled to the largest.
  const shape: Shape = {
    h: Math.max(...shown.map((t) => t.shape!.h)),
    w: Math.max(...shown.map((t) => t.shape!.w)),
    c: Math.max(...shown.map((t) => t.shape!.c)),
  };
  const per = shape.h * shape.w * shape.c;
  const all = new Float32Array(shown.length * per);
  shown.forEach((t, k) => all.set(resizeTile(t.px!, t.shape!, shape), k * per));
  const left = top.length - shown.length;
  const png = await ctx.renderer.grid(all, { n: shown.length, ...shape }, {
    cols: Math.min(4, shown.length),
    tile: 192,
    labels: shown.map((t, k) => `${k + 1}. ${t.votes} VOTE${t.votes === 1 ? '' : 'S'}${t.sub ? '*' : ''}`),
  });
  const origin = (d: DesignRow) =>
    d.kind === 'shoe' ? seedLabel('shoe', d.seed) : d.kind === 'variation' ? seedLabel('variation', d.seed) : d.parentId ? `${d.kind} of #${d.parentId}` : d.kind;
  const lines = shown.map((t, k) => `${k + 1}. design #${t.design.id} · ${t.votes} vote${t.votes === 1 ? '' : 's'} · by <@${t.design.requesterId}> · ${origin(t.design)}`);
  const content = [`**Top ${shown.length} sneaker design${shown.length === 1 ? '' : 's'} of this server**`, ...lines];
  if (left) content.push(`(${left} more voted design${left === 1 ? ' was' : 's were'} left out: drawn by a generator of a different shape that is no longer on disk)`);
  if (shown.some((t) => t.sub)) content.push(`* redrawn with the current checkpoint \`${ctx.generation.active?.version}\``);
  await interaction.editReply({ content: content.join('\n'), files: [{ attachment: png, name: 'gallery.png' }], allowedMentions: { parse: [] } });
}
