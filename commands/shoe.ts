/**
 * /shoe [count] [seed] — fresh sneaker designs from the active generator, with
 * buttons for a reroll and, per design, variations and an upscale. Same seed +
 * same checkpoint = same image.
 */
import { SlashCommandBuilder, type ButtonInteraction, type ChatInputCommandInteraction } from 'discord.js';
import { latentsForSeed, variationsOf } from '../src/gan/latent.ts';
import { intOption, MAX_SEED, postDesigns, randomSeed } from '../src/bot/design-message.ts';
import { UserError } from '../src/bot/errors.ts';
import { bytesToLatent } from '../src/bot/store.ts';
import type { BotContext } from '../src/bot/types.ts';

export const MAX_COUNT = 4;
const VARIATIONS = 4;

export const data = new SlashCommandBuilder()
  .setName('shoe')
  .setDescription('Design sneakers with the GAN')
  .addIntegerOption((o) => o.setName('count').setDescription('How many designs (1-4, default 4)').setMinValue(1).setMaxValue(MAX_COUNT))
  .addIntegerOption((o) => o.setName('seed').setDescription('Seed for repeatable designs (0-2147483647)').setMinValue(0).setMaxValue(MAX_SEED));

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  // Raw values: Discord enforces the ranges, but nothing stops a bad client.
  const count = intOption(interaction.options.get('count')?.value, 'count', 1, MAX_COUNT) ?? MAX_COUNT;
  const seed = intOption(interaction.options.get('seed')?.value, 'seed', 0, MAX_SEED) ?? randomSeed();
  ctx.generation.admit(interaction.user.id);
  await interaction.deferReply();
  const nz = ctx.generation.active!.nz;
  await postDesigns(interaction, ctx, {
    latents: latentsForSeed(seed, count, nz),
    n: count,
    seed,
    kind: 'shoe',
    title: count === 1 ? '1 sneaker design' : `${count} sneaker designs`,
    reroll: count,
  });
}

export async function handleButton(interaction: ButtonInteraction, ctx: BotContext, args: string[]): Promise<void> {
  const [action, target, requesterId] = args;
  if (!requesterId || !/^\d+$/.test(target ?? '')) throw new UserError('This button no longer does anything.');
  if (interaction.user.id !== requesterId) {
    throw new UserError(`Only <@${requesterId}> can use these buttons. Run \`/shoe\` for your own designs!`);
  }
  if (action === 'reroll') {
    const count = Math.min(MAX_COUNT, Math.max(1, Number(target)));
    ctx.generation.admit(interaction.user.id);
    await interaction.deferReply();
    const seed = randomSeed();
    await postDesigns(interaction, ctx, {
      latents: latentsForSeed(seed, count, ctx.generation.active!.nz),
      n: count,
      seed,
      kind: 'shoe',
      title: count === 1 ? '1 sneaker design' : `${count} sneaker designs`,
      reroll: count,
    });
    return;
  }
  if (action !== 'var' && action !== 'up') throw new UserError('This button no longer does anything.');
  const design = await ctx.store.findDesign(Number(target));
  if (!design) throw new UserError('That design no longer exists.');
  // Messages posted before upscales lost their Upscale button still have one.
  if (action === 'up' && design.kind === 'upscale') throw new UserError(`Design #${design.id} is already upscaled.`);
  const base = bytesToLatent(design.latent);
  const nz = ctx.generation.active?.nz;
  if (nz !== undefined && base.length !== nz) {
    throw new UserError('That design was drawn by an older generator of a different shape, so it cannot be redrawn.');
  }
  ctx.generation.admit(interaction.user.id);
  await interaction.deferReply();
  if (action === 'var') {
    const seed = randomSeed();
    await postDesigns(interaction, ctx, {
      latents: variationsOf(base, seed, VARIATIONS),
      n: VARIATIONS,
      seed,
      kind: 'variation',
      parentId: design.id,
      title: `${VARIATIONS} variations of design #${design.id}`,
      seedKind: 'variation',
    });
  } else {
    await postDesigns(interaction, ctx, {
      latents: base,
      n: 1,
      seed: design.seed,
      // An upscaled variation keeps its variation seed, which /shoe cannot reproduce.
      seedKind: design.kind === 'shoe' ? 'shoe' : 'variation',
      kind: 'upscale',
      parentId: design.id,
      title: `Design #${design.id}, upscaled`,
      single: true,
    });
  }
}
