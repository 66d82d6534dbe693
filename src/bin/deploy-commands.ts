/**
 * `npm run deploy-commands`: registers the slash commands in commands/ with
 * Discord without starting the bot — in DISCORD_GUILD_ID when set (instant),
 * else globally.
 */
import { REST, Routes, type APIApplication } from 'discord.js';
import { ConfigError, loadConfig } from '../config/env.ts';
import { registerSecret } from '../log.ts';
import { loadCommands, registerCommands } from '../bot/commands.ts';

const USAGE = `Usage: npm run deploy-commands [-- --help]

Registers the slash commands in commands/ (/shoe, /blend, /gallery, /train) with
Discord without starting the bot: in DISCORD_GUILD_ID when set (appears at
once), else globally (may take up to an hour). npm start registers them too.

Reads from .env or the environment:
  DISCORD_TOKEN      the bot token (required)
  DISCORD_GUILD_ID   register in this server only (optional)
  DISCORD_API_BASE   Discord API base URL (optional; for tests)`;

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
if (argv.length) {
  console.error(`Unknown argument: ${argv[0]}\n\n${USAGE}`);
  process.exit(2);
}

try {
  const config = loadConfig();
  if (!config.DISCORD_TOKEN) {
    console.error(
      'DISCORD_TOKEN is not set: put DISCORD_TOKEN=<your bot token> in .env (see README), then run npm run deploy-commands again.',
    );
    process.exit(1);
  }
  registerSecret(config.DISCORD_TOKEN);
  const rest = new REST({ api: config.DISCORD_API_BASE }).setToken(config.DISCORD_TOKEN);
  const app = (await rest.get(Routes.currentApplication())) as APIApplication;
  const commands = await loadCommands();
  const r = await registerCommands(rest, app.id, commands.values(), config.DISCORD_GUILD_ID);
  console.log(
    `Registered ${r.count} command(s) (${[...commands.keys()].map((n) => '/' + n).join(', ')}) ` +
      `${r.scope === 'guild' ? `in guild ${config.DISCORD_GUILD_ID}` : 'globally (may take up to an hour to appear)'}.`,
  );
} catch (err) {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(`Could not register commands: ${(err as Error).message}`);
  process.exit(1);
}
