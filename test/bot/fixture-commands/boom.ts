/** A command whose handler fails with an internal error (router tests). */
import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';

export const data = new SlashCommandBuilder()
  .setName('boom')
  .setDescription('Fails on purpose')
  .addBooleanOption((o) => o.setName('deferred').setDescription('fail after deferring'));

export async function execute(interaction: ChatInputCommandInteraction): Promise<void> {
  if (interaction.options.getBoolean('deferred')) await interaction.deferReply();
  throw new Error('ENOENT: /srv/secret/path/model.json at Object.openSync (node:fs:573:18)');
}
