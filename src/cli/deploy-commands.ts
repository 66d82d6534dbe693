/**
 * `npm run deploy-commands`: registers the slash commands in commands/ with
 * Discord without starting the bot — in DISCORD_GUILD_ID when set (instant),
 * else globally.
 */
import { REST, Routes, type APIApplication } from 'discord.js';
import { ConfigError, loadConfig } from '../config/env.ts';
import { registerSecret } from '../log.ts';
import { loadCommands, registerCommands } from '../bot/commands.ts';

try {
  const config = loadConfig();
  if (!config.DISCORD_TOKEN) {
    console.error('DISCORD_TOKEN is not set: put DISCORD_TOKEN=<your bot token> in .env (see README), then run npm run deploy-commands again.');
    process.exit(1);
  }
  registerSecret(config.DISCORD_TOKEN);
  const rest = new REST({ api: config.DISCORD_API_BASE }).setToken(config.DISCORD_TOKEN);
  const app = (await rest.get(Routes.currentApplication())) as APIApplication;
  const commands = await loadCommands();
  const r = await registerCommands(rest, app.id, commands.values(), config.DISCORD_GUILD_ID);
  console.log(
    `Registered ${r.count} command(s) (${[...commands.keys()].map((n) => '/' + n).join(', ')}) ${r.scope === 'guild' ? `in guild ${config.DISCORD_GUILD_ID}` : 'globally (may take up to an hour to appear)'}.`,
  );
} catch (err) {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(`Could not register commands: ${(err as Error).message}`);
  process.exit(1);
}
