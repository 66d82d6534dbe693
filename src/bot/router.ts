/**
 * Routes interactions to command modules. Handlers stay thin; this is where
 * failures are caught: a UserError's message goes back ephemerally as is,
 * anything else is logged (with the interaction's context) and the user gets
 * a short apology — never a stack trace, never a crash of the bot.
 */
import { MessageFlags, type AutocompleteInteraction, type Interaction, type RepliableInteraction } from 'discord.js';
import type { Logger } from 'pino';
import { StorageUnavailableError } from '../db/storage-health.ts';
import { UserError } from './errors.ts';
import type { BotCommand, BotContext } from './types.ts';

const GENERIC_FAILURE = 'Something went wrong on my side. It has been logged; please try again in a moment.';

/**
 * The answer to an interaction kind shoebot offers none of (a context menu, select menu or modal
 * from an old registration or a forged client): Discord shows "This interaction failed" when a bot
 * stays silent, so every kind gets a clear word.
 */
export function unsupportedMessage(interaction: Interaction): string {
  const kind = interaction.isContextMenuCommand()
    ? 'context-menu commands'
    : interaction.isAnySelectMenu()
      ? 'select menus'
      : interaction.isModalSubmit()
        ? 'forms'
        : 'this kind of interaction';
  return `Shoebot has no ${kind}: use \`/shoe\`, \`/blend\` or \`/gallery\` and the buttons under designs.`;
}

/** Sends `content` to the user privately, whatever state the interaction is in. */
export async function replyPrivately(interaction: RepliableInteraction, content: string): Promise<void> {
  if (interaction.deferred && !interaction.replied) {
    if (interaction.ephemeral) {
      await interaction.editReply({ content, files: [], components: [] });
      return;
    }
    // A public "thinking…" placeholder: remove it, answer privately.
    await interaction.deleteReply().catch(() => undefined);
    await interaction.followUp({ content, flags: MessageFlags.Ephemeral });
    return;
  }
  if (interaction.replied) {
    await interaction.followUp({ content, flags: MessageFlags.Ephemeral });
    return;
  }
  await interaction.reply({ content, flags: MessageFlags.Ephemeral });
}

export interface Router {
  handle(interaction: Interaction): Promise<void>;
  /** Resolves when every interaction being handled is done. */
  drain(): Promise<void>;
  /** After this, new interactions get a "restarting" note. */
  stopAccepting(): void;
  readonly inFlight: number;
}

/** Answers an autocomplete: the command's suggestions while accepting, else (or on failure) none. */
async function answerAutocomplete(
  interaction: AutocompleteInteraction,
  cmd: BotCommand | undefined,
  ctx: BotContext,
  accepting: boolean,
  log: Logger,
): Promise<void> {
  // Suggestions only (e.g. /blend's design ids); nothing to answer while shutting down.
  try {
    if (accepting && cmd?.autocomplete) await cmd.autocomplete(interaction, ctx);
  } catch (err) {
    // Autocomplete cannot carry an error message (e.g. no option is focused): offer nothing.
    log.warn({ err }, 'autocomplete failed; answered with no suggestions');
  }
  if (!interaction.responded) await interaction.respond([]);
}

/** Runs the slash command or button handler `interaction` names; throws a UserError when there is none. */
async function runCommand(
  interaction: RepliableInteraction,
  commands: Map<string, BotCommand>,
  ctx: BotContext,
): Promise<void> {
  if (interaction.isChatInputCommand()) {
    const cmd = commands.get(interaction.commandName);
    if (!cmd)
      throw new UserError(`I don't know /${interaction.commandName} (any more). Commands may take a moment to update.`);
    await cmd.execute(interaction, ctx);
    return;
  }
  if (interaction.isButton()) {
    const [name, ...args] = interaction.customId.split(':');
    const cmd = commands.get(name);
    if (!cmd?.handleButton) throw new UserError('This button no longer does anything.');
    await cmd.handleButton(interaction, ctx, args);
    return;
  }
  throw new UserError(unsupportedMessage(interaction));
}

/** The logger for one interaction: its id, user, guild and command (or button) in every line. */
function interactionLog(ctx: BotContext, interaction: Interaction): Logger {
  return ctx.log.child({
    interaction: interaction.id,
    user: interaction.user.id,
    guild: interaction.guildId ?? undefined,
    command: interaction.isChatInputCommand()
      ? [interaction.commandName, interaction.options.getSubcommand(false)].filter(Boolean).join(' ')
      : interaction.isButton()
        ? `button ${interaction.customId}`
        : undefined,
  });
}

/** Logs a failed interaction and tells the user privately: a UserError's own words, else an apology. */
async function reportFailure(interaction: Interaction, err: unknown, log: Logger): Promise<void> {
  // A full disk or a vanished database file: the user hears that, the operator was told once by src/db.
  const userFacing = err instanceof UserError || err instanceof StorageUnavailableError;
  if (userFacing) log.info({ reason: (err as Error).message }, 'interaction refused');
  else log.error({ err }, 'interaction failed');
  if (interaction.isRepliable()) {
    try {
      await replyPrivately(interaction, userFacing ? (err as Error).message : GENERIC_FAILURE);
    } catch (replyErr) {
      // Expired token, deleted channel…: nothing more to tell the user.
      log.warn({ err: replyErr }, 'could not send the error message');
    }
  }
}

/**
 * The router over `commands` (by name; buttons by the first part of their custom id), with `ctx`
 * handed to every handler; it tracks interactions in progress for drain().
 */
export function createRouter(commands: Map<string, BotCommand>, ctx: BotContext): Router {
  const running = new Set<Promise<void>>();
  let accepting = true;

  async function dispatch(interaction: Interaction, log: Logger): Promise<void> {
    if (interaction.isAutocomplete())
      return answerAutocomplete(interaction, commands.get(interaction.commandName), ctx, accepting, log);
    if (!interaction.isRepliable()) return; // other non-repliable interactions: not used by shoebot
    if (!accepting) {
      await replyPrivately(interaction, 'Shoebot is restarting. Try again in a minute.');
      return;
    }
    await runCommand(interaction, commands, ctx);
  }

  async function handle(interaction: Interaction): Promise<void> {
    const log = interactionLog(ctx, interaction);
    const t0 = performance.now();
    try {
      await dispatch(interaction, log);
      // Autocomplete fires on every keystroke: keep it out of the info log.
      const level = interaction.isAutocomplete() ? 'debug' : 'info';
      log[level]({ ms: Math.round(performance.now() - t0) }, 'interaction handled');
    } catch (err) {
      await reportFailure(interaction, err, log);
    }
  }

  return {
    handle(interaction) {
      const p = handle(interaction).finally(() => running.delete(p));
      running.add(p);
      return p;
    },
    async drain() {
      while (running.size) await Promise.allSettled([...running]);
    },
    stopAccepting() {
      accepting = false;
    },
    get inFlight() {
      return running.size;
    },
  };
}
