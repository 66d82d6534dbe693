/**
 * `npm start`: runs the bot until SIGTERM/SIGINT, then shuts down gracefully
 * (gateway closed, requests in flight finished, a running trainer
 * checkpointed, database closed).
 */
import { log, scrub, setRootLogger } from '../log.ts';
import { startBot } from '../bot/bot.ts';
import { loadBotConfigOrExit } from './start-config.ts';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'Usage: npm start\n\nStarts the shoebot Discord bot. Configuration comes from the environment and a .env file\n' +
      '(see the Configuration table in README.md); DISCORD_TOKEN is required. SIGTERM/Ctrl-C shut it down gracefully.\n',
  );
  process.exit(0);
}

/** One plain line for the operator on stderr (the JSON log has the details). */
function explain(prefix: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e?.code ?? e?.cause?.code;
  const message = scrub(String(e?.message ?? err));
  if (
    code &&
    ['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT'].includes(code)
  ) {
    return `${prefix}: cannot reach Discord at ${config.DISCORD_API_BASE} (${code}): check the network or DISCORD_API_BASE.`;
  }
  if (code === 'TokenInvalid' || /invalid token|401/i.test(message)) {
    return `${prefix}: Discord refused the token: check DISCORD_TOKEN (Bot -> Reset Token in the developer portal).`;
  }
  return `${prefix}: ${message}`;
}

const config = loadBotConfigOrExit('npm start');

// A shard of `npm run start:shards` (discord.js's ShardingManager sets SHARDS): every line names it.
const managed = Boolean(process.env.SHARDING_MANAGER && process.send);
if (managed && process.env.SHARDS !== undefined)
  setRootLogger(log().child({ shard: JSON.parse(process.env.SHARDS) as number }));

// A stray rejection must be logged, not crash a bot serving a community.
process.on('unhandledRejection', (reason) => log().error({ err: reason }, 'unhandled promise rejection'));

const bot = await startBot({ config }).catch((err: Error) => {
  log().fatal({ err }, 'could not start');
  console.error(explain('shoebot could not start', err));
  process.exit(1);
});

let signals = 0;
let stopRequested = false;
const stopGracefully = () => {
  if (stopRequested) return;
  stopRequested = true;
  // A shutdown stuck on an unreachable Discord (or a log reader that is gone) must still end, and
  // say what it left unfinished: otherwise only the supervisor's SIGKILL ends it, silently.
  setTimeout(() => {
    const unfinished = bot.unfinishedShutdown();
    const timeoutMs = config.SHUTDOWN_TIMEOUT_MS;
    log().error(
      { timeoutMs, unfinished, interactionsInFlight: bot.router.inFlight },
      'shutdown deadline passed: exiting without finishing',
    );
    console.error(
      `shoebot: shutdown did not finish within ${timeoutMs} ms (SHUTDOWN_TIMEOUT_MS); not finished: ${unfinished.join(', ')}. Exiting with code 1.`,
    );
    process.exit(1);
  }, config.SHUTDOWN_TIMEOUT_MS);
  bot
    .stop()
    .then(() => process.exit(0))
    .catch((err) => {
      log().error({ err }, 'shutdown failed');
      process.exit(1);
    });
};
const shutdown = (signal: string) => {
  if (++signals > 1) {
    log().warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  log().info({ signal }, 'signal received');
  stopGracefully();
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
if (managed) {
  // The shard manager asks over IPC (not a signal, which Ctrl-C may already have sent to the
  // whole process group: counted twice it would force an exit); if the manager itself is gone,
  // this shard stops too rather than serving on unsupervised.
  process.on('message', (m: { type?: string } | null) => {
    if (m?.type === 'shoebot:stop') {
      log().info('stop requested by the shard manager');
      stopGracefully();
    }
  });
  process.on('disconnect', () => {
    log().warn('the shard manager is gone: stopping');
    stopGracefully();
  });
}

bot.ready.catch((err: Error) => {
  log().fatal({ err }, 'could not connect to Discord');
  console.error(explain('shoebot could not connect to Discord', err));
  void bot.stop().finally(() => process.exit(1));
});
