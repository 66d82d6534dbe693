/**
 * /gallery — this server's most-voted designs as one image with vote counts.
 * Designs are redrawn from their stored latents with the checkpoint that drew
 * them when it is still on disk (else with the active one, marked "*").
 */
import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { admitThenDefer, intOption, seedLabel } from '../src/bot/design-message.ts';
import { UserError } from '../src/bot/errors.ts';
import { drawDesigns, resizeTile, type Shape } from '../src/bot/gallery-draw.ts';
import type { DesignRow } from '../src/bot/store.ts';
import type { BotContext } from '../src/bot/types.ts';

const DEFAULT_LIMIT = 8;
const MAX_LIMIT = 16;
const MAX_OLD_CHECKPOINTS = 3;

export const data = new SlashCommandBuilder()
  .setName('gallery')
  .setDescription("This server's most-voted sneaker designs")
  .addIntegerOption((o) =>
    o
      .setName('top')
      .setDescription(`How many designs (1-${MAX_LIMIT}, default ${DEFAULT_LIMIT})`)
      .setMinValue(1)
      .setMaxValue(MAX_LIMIT),
  );

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const limit = intOption(interaction.options.get('top')?.value, 'top', 1, MAX_LIMIT) ?? DEFAULT_LIMIT;
  const top = await ctx.store.topDesigns(interaction.guildId, limit);
  if (!top.length) throw new UserError('No votes yet in this server. Run `/shoe` and vote with the number reactions!');
  await admitThenDefer(interaction, ctx, () => postGallery(interaction, ctx, top));
}

/** Redraws `top` and posts them as one image (the reply is deferred). */
async function postGallery(
  interaction: ChatInputCommandInteraction,
  ctx: BotContext,
  top: { design: DesignRow; votes: number }[],
): Promise<void> {
  const { pixels, shapes, substituted } = await drawDesigns(
    ctx,
    top.map((t) => t.design),
    MAX_OLD_CHECKPOINTS,
  );
  const shown = top
    .map((t, i) => ({ ...t, px: pixels[i], shape: shapes[i], sub: substituted[i] }))
    .filter((t) => t.px && t.shape);
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
  const png = await ctx.renderer.grid(
    all,
    { n: shown.length, ...shape },
    {
      cols: Math.min(4, shown.length),
      tile: 192,
      labels: shown.map((t, k) => `${k + 1}. ${t.votes} VOTE${t.votes === 1 ? '' : 'S'}${t.sub ? '*' : ''}`),
    },
  );
  const origin = (d: DesignRow) =>
    d.kind === 'shoe'
      ? seedLabel('shoe', d.seed)
      : d.kind === 'variation'
        ? seedLabel('variation', d.seed)
        : d.kind === 'blend' && d.parentId && d.secondParentId
          ? `blend of #${d.parentId} and #${d.secondParentId}`
          : d.parentId
            ? `${d.kind} of #${d.parentId}`
            : d.kind;
  const lines = shown.map(
    (t, k) =>
      `${k + 1}. design #${t.design.id} · ${t.votes} vote${t.votes === 1 ? '' : 's'} · by <@${t.design.requesterId}> · ${origin(t.design)}`,
  );
  const content = [`**Top ${shown.length} sneaker design${shown.length === 1 ? '' : 's'} of this server**`, ...lines];
  if (left)
    content.push(
      `(${left} more voted design${left === 1 ? ' was' : 's were'} left out: drawn by a generator of a different shape that is no longer on disk)`,
    );
  if (shown.some((t) => t.sub))
    content.push(`* redrawn with the current checkpoint \`${ctx.generation.active?.version}\``);
  await interaction.editReply({
    content: content.join('\n'),
    files: [{ attachment: png, name: 'gallery.png' }],
    allowedMentions: { parse: [] },
  });
}
