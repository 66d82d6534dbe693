/**
 * /train status|run|stop|rollback — shoebot admins (the application's owner or team, and
 * ADMIN_USER_IDS); a server's administrators may read status too, but training changes the model
 * every server sees, so only shoebot admins run, stop or roll it back. Discord shows the command
 * only to server administrators (default_member_permissions). Status shows
 * the trainer's state, the active checkpoint, the run in progress, the last
 * run, quality per checkpoint, the backend, the next scheduled run and a loss
 * plot as a PNG.
 *
 * The trainer runs in whichever process holds the trainer lease (src/trainer).
 * ctx.training() says who answers: this process's scheduler when it holds the
 * lease, otherwise the holder through the database (its published snapshot;
 * run|stop|rollback become requests it carries out). The status text is
 * src/bot/train-status.ts.
 */
import { MessageFlags, PermissionFlagsBits, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { MAX_TRAIN_STEPS } from '../src/config/env.ts';
import { intOption, stringOption } from '../src/bot/design-message.ts';
import { UserError } from '../src/bot/errors.ts';
import { trainStatusReply } from '../src/bot/train-status.ts';
import type { BotContext } from '../src/bot/types.ts';
import type { ControlResult, TrainingControl } from '../src/trainer/control.ts';

export const data = new SlashCommandBuilder()
  .setName('train')
  .setDescription('Training of the sneaker GAN (admins)')
  // Hidden from members who are not server administrators; the bot still checks who is a shoebot admin.
  .setDefaultMemberPermissions(PermissionFlagsBits.Administrator)
  .addSubcommand((s) => s.setName('status').setDescription('Trainer state, checkpoints, losses and a loss plot'))
  .addSubcommand((s) =>
    s
      .setName('run')
      .setDescription('Start a training run now')
      .addIntegerOption((o) =>
        o
          .setName('steps')
          .setDescription('Steps to train (default TRAIN_STEPS)')
          .setMinValue(1)
          .setMaxValue(MAX_TRAIN_STEPS),
      ),
  )
  .addSubcommand((s) => s.setName('stop').setDescription('Stop the running training (it writes a checkpoint)'))
  .addSubcommand((s) =>
    s
      .setName('rollback')
      .setDescription('Switch back to an earlier checkpoint')
      .addStringOption((o) =>
        o.setName('version').setDescription('Checkpoint version (default: the one before the active)').setMaxLength(90),
      ),
  );

async function status(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  await interaction.editReply(await trainStatusReply(ctx, interaction.guildId, ctx.training()));
}

/**
 * Answers with what training said: done is the reply, queued is a note to check later, anything
 * else the admin reads as an error. A remote answer (and a rollback) may take a few seconds, so the
 * reply is deferred first; a local run or stop answers at once.
 */
async function answer(
  interaction: ChatInputCommandInteraction,
  control: TrainingControl,
  slow: boolean,
  act: () => Promise<ControlResult>,
): Promise<void> {
  const deferred = slow || control.where === 'remote';
  if (deferred) await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const r = await act();
  if (r.outcome !== 'done' && r.outcome !== 'queued') throw new UserError(r.message);
  if (deferred) await interaction.editReply(r.message);
  else await interaction.reply({ content: r.message, flags: MessageFlags.Ephemeral });
}

/** Whether the member administers the server the command was used in (never in DMs). */
function isServerAdmin(interaction: ChatInputCommandInteraction): boolean {
  return interaction.inGuild() && (interaction.memberPermissions?.has(PermissionFlagsBits.Administrator) ?? false);
}

/** `/train rollback version:`, read raw: a client may send any type (getString() would throw a TypeError). */
function rollbackVersion(value: unknown): string | undefined {
  const version = stringOption(value, 'version');
  if (version !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$/.test(version))
    throw new UserError('That is not a checkpoint version (see `/train status`).');
  return version;
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const sub = interaction.options.getSubcommand(false);
  const botAdmin = ctx.isAdmin(interaction.user.id);
  if (sub === 'status' && (botAdmin || isServerAdmin(interaction))) return status(interaction, ctx);
  if (!botAdmin) {
    throw new UserError(
      isServerAdmin(interaction)
        ? 'Only shoebot admins can run, stop or roll back training: it changes the model every server sees. ' +
            "Server admins may read `/train status`; the bot's owner can add your user id to ADMIN_USER_IDS."
        : "Only shoebot admins can use `/train` (the bot's owner, and the user ids in ADMIN_USER_IDS).",
    );
  }
  // Checked before anything else, so a bad value gets its own answer whatever the trainer's state.
  const version = sub === 'rollback' ? rollbackVersion(interaction.options.get('version')?.value) : undefined;
  const control = ctx.training();
  if (!control) throw new UserError('Training is disabled in this shoebot.');
  const by = interaction.user.id;
  if (sub === 'run') {
    const steps = intOption(interaction.options.get('steps')?.value, 'steps', 1, MAX_TRAIN_STEPS);
    return answer(interaction, control, false, () => control.run(steps, by));
  }
  if (sub === 'stop') return answer(interaction, control, false, () => control.stop(by));
  if (sub === 'rollback') return answer(interaction, control, true, () => control.rollback(version, by));
  throw new UserError('Use `/train status`, `/train run`, `/train stop` or `/train rollback`.');
}
