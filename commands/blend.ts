/**
 * /blend a:<design> b:<design> [format] — an animated morph between two
 * designs of this server (spherical interpolation of their latents), and its
 * halfway point as a new votable design. The logic lives in src/bot/blend.ts.
 */
import { SlashCommandBuilder, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import { blendAutocomplete, runBlend } from '../src/bot/blend.ts';
import { UserError } from '../src/bot/errors.ts';
import type { AnimationFormat } from '../src/render/animation.ts';
import type { BotContext } from '../src/bot/types.ts';

export const data = new SlashCommandBuilder()
  .setName('blend')
  .setDescription('Morph between two designs and get the halfway point as a new design')
  .addStringOption((o) =>
    o
      .setName('a')
      .setDescription('First design id, as shown under it (e.g. #42)')
      .setRequired(true)
      .setMaxLength(20)
      .setAutocomplete(true),
  )
  .addStringOption((o) =>
    o
      .setName('b')
      .setDescription('Second design id (e.g. #57)')
      .setRequired(true)
      .setMaxLength(20)
      .setAutocomplete(true),
  )
  .addStringOption((o) =>
    o
      .setName('format')
      .setDescription('Animation format (default WebP: smaller; GIF for old clients and bridges)')
      .addChoices({ name: 'WebP', value: 'webp' }, { name: 'GIF', value: 'gif' }),
  );

function formatOption(value: unknown): AnimationFormat | undefined {
  if (value === null || value === undefined) return undefined;
  if (value === 'webp' || value === 'gif') return value;
  throw new UserError('`format` must be `webp` or `gif`.');
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  // Raw values: Discord enforces types and required options, but nothing stops a bad client.
  const a = interaction.options.get('a')?.value;
  const b = interaction.options.get('b')?.value;
  const format = formatOption(interaction.options.get('format')?.value);
  await runBlend(interaction, ctx, { a, b, format });
}

/** Suggests this server's top-voted and newest design ids while `a` or `b` is typed. */
export async function autocomplete(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  await blendAutocomplete(interaction, ctx);
}
