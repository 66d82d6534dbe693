/**
 * The Discord numbers the fake speaks: gateway intents and which events need them, option,
 * interaction and callback types, message flags, permission bit fields. Kept local so the fake
 * does not depend on discord.js (it tests discord.js, not the other way round).
 */

/** Gateway intents (the bits IDENTIFY's `intents` holds). */
export const Intents = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildMessages: 1 << 9,
  GuildMessageReactions: 1 << 10,
  DirectMessages: 1 << 12,
  DirectMessageReactions: 1 << 13,
  MessageContent: 1 << 15,
} as const;

/** Which intent a dispatch needs (undefined = always delivered). */
export const EVENT_INTENT: Record<string, number | undefined> = {
  GUILD_CREATE: Intents.Guilds,
  GUILD_UPDATE: Intents.Guilds,
  GUILD_DELETE: Intents.Guilds,
  CHANNEL_CREATE: Intents.Guilds,
  CHANNEL_UPDATE: Intents.Guilds,
  CHANNEL_DELETE: Intents.Guilds,
  MESSAGE_CREATE: Intents.GuildMessages,
  MESSAGE_UPDATE: Intents.GuildMessages,
  MESSAGE_DELETE: Intents.GuildMessages,
  MESSAGE_REACTION_ADD: Intents.GuildMessageReactions,
  MESSAGE_REACTION_REMOVE: Intents.GuildMessageReactions,
  MESSAGE_REACTION_REMOVE_ALL: Intents.GuildMessageReactions,
  MESSAGE_REACTION_REMOVE_EMOJI: Intents.GuildMessageReactions,
};

export const OptionType = {
  Subcommand: 1,
  SubcommandGroup: 2,
  String: 3,
  Integer: 4,
  Boolean: 5,
  User: 6,
  Channel: 7,
  Role: 8,
  Number: 10,
} as const;
export const InteractionType = { ApplicationCommand: 2, MessageComponent: 3 } as const;
export const CallbackType = {
  ChannelMessageWithSource: 4,
  DeferredChannelMessageWithSource: 5,
  DeferredMessageUpdate: 6,
  UpdateMessage: 7,
} as const;
export const FLAG_EPHEMERAL = 1 << 6;
export const FLAG_LOADING = 1 << 7;

/** An ordinary member's permissions: view, send, embed, attach, history, react, external emoji, use commands. */
export const MEMBER_PERMISSIONS = String(
  (1n << 10n) | (1n << 11n) | (1n << 14n) | (1n << 15n) | (1n << 16n) | (1n << 6n) | (1n << 18n) | (1n << 31n),
);
/** A server administrator (the Administrator bit implies every other). */
export const ADMINISTRATOR_PERMISSIONS = String(1n << 3n);
