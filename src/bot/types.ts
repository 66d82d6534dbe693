/**
 * What a command module gets to work with, and what it must export.
 */
import type {
  AutocompleteInteraction,
  ButtonInteraction,
  ChatInputCommandInteraction,
  Client,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { Logger } from 'pino';
import type { Config } from '../config/env.ts';
import type { GenerationService } from './generation.ts';
import type { Renderer } from './render-pool.ts';
import type { Store } from './store.ts';
import type { TrainingControl } from '../trainer/control.ts';

export interface BotContext {
  config: Config;
  log: Logger;
  client: Client;
  store: Store;
  generation: GenerationService;
  /** PNG rendering (a worker thread, off the event loop). */
  renderer: Renderer;
  /**
   * How /train reaches training right now: this process's scheduler while it holds the trainer
   * lease, else the lease holder through the database; undefined when training is disabled here.
   */
  training(): TrainingControl | undefined;
  isAdmin(userId: string): boolean;
  /**
   * Set when the manifest's active checkpoint failed to load at start-up and
   * the newest good one (`fallback`) is served instead.
   */
  activeProblem?: { version?: string; reason: string; fallback: string };
}

/** A module under commands/: one slash command. */
export interface BotCommand {
  data: { name: string; toJSON(): RESTPostAPIChatInputApplicationCommandsJSONBody };
  execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void>;
  /**
   * Handles buttons whose custom_id starts with `<command name>:`; `args` are
   * the remaining `:`-separated parts.
   */
  handleButton?(interaction: ButtonInteraction, ctx: BotContext, args: string[]): Promise<void>;
  /** Answers autocomplete for the command's options that enable it (interaction.respond). */
  autocomplete?(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void>;
}
