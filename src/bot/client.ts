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
  // discord.js reads SHARDS/SHARD_COUNT from the environment. Only a shard process spawned by
  // `npm run start:shards` (SHARDING_MANAGER set) means them for discord.js; elsewhere SHARD_COUNT
  // is our own setting (e.g. "auto", which discord.js would reject), so a single process hides
  // them while the client is built and serves shard 0 of 1.
  const hidden = process.env.SHARDING_MANAGER
    ? []
    : (['SHARDS', 'SHARD_COUNT'] as const).filter((k) => k in process.env);
  const saved = hidden.map((k) => [k, process.env[k]] as const);
  for (const k of hidden) delete process.env[k];
  try {
    return new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessageReactions],
      partials: [Partials.Message, Partials.Reaction, Partials.User],
      rest: { api: opts.apiBase },
      // Only the bot's own user and guilds need caching; messages come back as partials.
      allowedMentions: { parse: [] },
    });
  } finally {
    for (const [k, v] of saved) process.env[k] = v;
  }
}
