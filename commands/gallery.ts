/**
 * /gallery — this server's most-voted designs as one image with vote counts.
 * Designs are redrawn from their stored latents with the checkpoint that drew
 * them when it is still on disk (else with the active one, marked "*").
 */
import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { loadGeneratorCheckpoint } from '../src/gan/checkpoint.ts';
import { generate } from '../src/gan/generate.ts';
import { intOption } from '../src/bot/design-message.ts';
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

/** Draws designs grouped by checkpoint; returns per-design pixels (or undefined if undrawable) and whether the active one stood in. */
async function drawAll(ctx: BotContext, designs: DesignRow[]): Promise<{ pixels: (Float32Array | undefined)[]; shape?: { h: number; w: number; c: number }; substituted: boolean[] }> {
  const active = ctx.generation.active;
  const pixels: (Float32Array | undefined)[] = designs.map(() => undefined);
  const substituted = designs.map(() => false);
  let shape: { h: number; w: number; c: number } | undefined;
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
      if (shape && (shape.h !== h || shape.w !== w || shape.c !== c)) continue; // can't share a grid
      shape = { h, w, c };
      ok.forEach((i, k) => (pixels[i] = out.slice(k * h * w * c, (k + 1) * h * w * c)));
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
      if (shape && (shape.h !== r.shape.h || shape.w !== r.shape.w || shape.c !== r.shape.c)) break;
      shape = { h: r.shape.h, w: r.shape.w, c: r.shape.c };
      const per = r.shape.h * r.shape.w * r.shape.c;
      part.forEach((i, k) => (pixels[i] = r.pixels.slice(k * per, (k + 1) * per)));
    }
  }
  return { pixels, shape, substituted };
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const limit = intOption(interaction.options.get('top')?.value, 'top', 1, MAX_LIMIT) ?? DEFAULT_LIMIT;
  const top = await ctx.store.topDesigns(interaction.guildId, limit);
  if (!top.length) throw new UserError('No votes yet in this server. Run `/shoe` and vote with the number reactions!');
  ctx.generation.admit(interaction.user.id);
  await interaction.deferReply();
  const { pixels, shape, substituted } = await drawAll(ctx, top.map((t) => t.design));
  const shown = top.map((t, i) => ({ ...t, px: pixels[i], sub: substituted[i] })).filter((t) => t.px);
  if (!shape || !shown.length) throw new UserError("The top designs can't be redrawn with the checkpoints available now.");
  const per = shape.h * shape.w * shape.c;
  const all = new Float32Array(shown.length * per);
  shown.forEach((t, k) => all.set(t.px!, k * per));
  const png = await ctx.renderer.grid(all, { n: shown.length, ...shape }, {
    cols: Math.min(4, shown.length),
    tile: 192,
    labels: shown.map((t, k) => `${k + 1}. ${t.votes} VOTE${t.votes === 1 ? '' : 'S'}${t.sub ? '*' : ''}`),
  });
  const lines = shown.map((t, k) => `${k + 1}. design #${t.design.id} · ${t.votes} vote${t.votes === 1 ? '' : 's'} · by <@${t.design.requesterId}> · seed \`${t.design.seed}\``);
  const content = [`**Top ${shown.length} sneaker design${shown.length === 1 ? '' : 's'} of this server**`, ...lines];
  if (shown.some((t) => t.sub)) content.push(`* redrawn with the current checkpoint \`${ctx.generation.active?.version}\``);
  await interaction.editReply({ content: content.join('\n'), files: [{ attachment: png, name: 'gallery.png' }], allowedMentions: { parse: [] } });
}
