/**
 * The discord.js client shoebot runs on: only the intents it needs (guilds for
 * interactions' context, guild message reactions for votes) and the partials
 * that make reactions on uncached messages (from before a restart) arrive.
 */
import { Client, GatewayIntentBits, Partials } from 'discord.js';

export interface ClientOptions {
  /** REST base without version (DISCORD_API_BASE), e.g. https://discord.com/api. */
  apiBase: string;
}

/** A configured (not yet logged in) client. */
export function createClient(opts: ClientOptions): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessageReactions],
    partials: [Partials.Message, Partials.Reaction, Partials.User],
    rest: { api: opts.apiBase },
    // Only the bot's own user and guilds need caching; messages come back as partials.
    allowedMentions: { parse: [] },
  });
}
