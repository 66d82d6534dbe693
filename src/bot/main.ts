/**
 * `npm start`: runs the bot until SIGTERM/SIGINT, then shuts down gracefully
 * (gateway closed, requests in flight finished, a running trainer
 * checkpointed, database closed).
 */
import { ConfigError, loadConfig, type Config } from '../config/env.ts';
import { log, registerSecret } from '../log.ts';
import { startBot } from './bot.ts';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}

if (!config.DISCORD_TOKEN) {
  console.error(
    'DISCORD_TOKEN is not set: create a bot at https://discord.com/developers/applications (Bot -> Reset Token), then put DISCORD_TOKEN=<token> in .env or the environment and run npm start again.',
  );
  process.exit(1);
}
registerSecret(config.DISCORD_TOKEN);

// A stray rejection must be logged, not crash a bot serving a community.
process.on('unhandledRejection', (reason) => log().error({ err: reason }, 'unhandled promise rejection'));

const bot = await startBot({ config }).catch((err: Error) => {
  log().fatal({ err }, 'could not start');
  process.exit(1);
});

let signals = 0;
const shutdown = (signal: string) => {
  if (++signals > 1) {
    log().warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  log().info({ signal }, 'signal received');
  bot
    .stop()
    .then(() => process.exit(0))
    .catch((err) => {
      log().error({ err }, 'shutdown failed');
      process.exit(1);
    });
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

bot.ready.catch((err: Error) => {
  log().fatal({ err }, 'could not connect to Discord (is DISCORD_TOKEN right?)');
  void bot.stop().finally(() => process.exit(1));
});
