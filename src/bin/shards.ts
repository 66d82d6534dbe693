/**
 * `npm run start:shards`: runs the bot as several discord.js shards (one
 * process each, see shard-manager.ts) until SIGTERM/SIGINT, then stops the
 * shards gracefully, then the trainer, and exits.
 */
import { log, scrub } from '../log.ts';
import { ShardStartError, startShardManager, type ShardManagerHandle } from '../bot/shard-manager.ts';
import { loadBotConfigOrExit } from './start-config.ts';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'Usage: npm run start:shards\n\n' +
      'Runs shoebot as discord.js shards: one process per shard, each serving its guilds with its own\n' +
      'generator, all sharing DATABASE_URL and MODELS_DIR. This process runs the scheduled trainer\n' +
      '(unless TRAINER_MODE=off) and registers nothing itself (shard 0 registers the commands).\n\n' +
      '  SHARD_COUNT=auto|N        shards in total (auto: what Discord recommends; default auto)\n' +
      '  SHARD_IDS=0,1             run only these shards here (several machines: same numeric SHARD_COUNT\n' +
      '                            and one PostgreSQL DATABASE_URL on each; default all)\n' +
      '  SHARD_SPAWN_DELAY_MS=5500 pause between shards becoming ready and the next starting\n\n' +
      'Everything else as for npm start (see README.md). SIGTERM/Ctrl-C stop it gracefully.\n',
  );
  process.exit(0);
}

const config = loadBotConfigOrExit('npm run start:shards');
const mlog = log().child({ part: 'shard-manager' });
process.on('unhandledRejection', (reason) => mlog.error({ err: reason }, 'unhandled promise rejection'));

let handle: ShardManagerHandle;
try {
  handle = await startShardManager({ config });
} catch (err) {
  mlog.fatal({ err }, 'could not start');
  console.error(
    `shoebot shards could not start: ${scrub(err instanceof ShardStartError ? err.message : String((err as Error)?.message ?? err))}`,
  );
  process.exit(1);
}

let signals = 0;
const shutdown = (signal: string) => {
  if (++signals > 1) {
    mlog.warn({ signal }, 'second signal: killing the shards and exiting now');
    for (const s of handle.manager.shards.values()) s.process?.kill('SIGKILL');
    process.exit(1);
  }
  mlog.info({ signal }, 'signal received');
  handle
    .stop()
    .then(() => process.exit(0))
    .catch((err) => {
      mlog.error({ err }, 'shutdown failed');
      process.exit(1);
    });
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

handle.ready.then(
  async ({ startupMs }) => {
    const mem = await handle.memory();
    const mb = (b: number | null) => (b === null ? null : Math.round((b / 1048576) * 10) / 10);
    mlog.info(
      {
        startupMs,
        managerRssMB: mb(mem.manager),
        shardRssMB: Object.fromEntries(mem.shards.map((s) => [s.id, mb(s.rss)])),
      },
      'memory after start-up',
    );
  },
  () => undefined,
);
