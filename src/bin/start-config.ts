/**
 * The configuration of a process that logs in to Discord (`npm start`, `npm run start:shards`):
 * every problem named at once, the missing token included, as plain lines on stderr and exit 1.
 */
import fs from 'node:fs';
import { ConfigError, loadConfig, parseDotEnv, type Config } from '../config/env.ts';
import { registerSecret } from '../log.ts';

function noToken(command: string): string {
  return (
    'DISCORD_TOKEN is not set: create a bot at https://discord.com/developers/applications (Bot -> Reset Token), ' +
    `then put DISCORD_TOKEN=<token> in .env or the environment and run ${command} again.`
  );
}

/** Loads the configuration (environment + .env) or exits 1 explaining why; registers the token as a secret for the logs. */
export function loadBotConfigOrExit(command: string): Config & { DISCORD_TOKEN: string } {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      const dotenvToken = fs.existsSync('.env') && parseDotEnv(fs.readFileSync('.env', 'utf8')).DISCORD_TOKEN;
      if (!process.env.DISCORD_TOKEN && !dotenvToken) console.error(`  - ${noToken(command)}`);
      process.exit(1);
    }
    throw err;
  }
  const token = config.DISCORD_TOKEN;
  if (!token) {
    console.error(noToken(command));
    process.exit(1);
  }
  registerSecret(token);
  return { ...config, DISCORD_TOKEN: token };
}
