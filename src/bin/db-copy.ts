/**
 * `npm run db:copy -- --from <url> --to <url>`: copies designs, votes, checkpoints and training runs
 * between databases (e.g. SQLite -> PostgreSQL when a bot outgrows one machine). See copy.ts.
 */
import { copyDatabase, CopyRefusedError } from '../db/copy.ts';
import { MigrationError } from '../db/migration-error.ts';
import { parseDatabaseUrl, UnsupportedDatabaseError } from '../db/paths.ts';
import { DatabaseConnectionError, protectPassword } from '../db/pg.ts';
import { parseCommandLine, runCli } from './command-line.ts';

const HELP = `Copy shoebot's data from one database to another (e.g. SQLite -> PostgreSQL).

Usage: npm run db:copy -- --from <url> --to <url>

  --from <url>   source, e.g. file:./data/shoebot.db
  --to <url>     target, e.g. postgresql://shoebot:PASSWORD@db-host:5432/shoebot
                 (created database, empty: it is migrated first; run npm run db:deploy -- --create-db
                 to create it)
  -h, --help     show this help

Copies designs (ids kept: members refer to them), votes, checkpoints and training runs in one
transaction on the target. Stop the bot first; model files under MODELS_DIR are not in the
database: copy or share that folder separately.
`;

async function main(argv: string[]): Promise<number> {
  const args = parseCommandLine(
    {
      args: argv,
      options: { from: { type: 'string' }, to: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    },
    HELP,
  );
  if (typeof args === 'number') return args;
  if (!args.from || !args.to) {
    process.stderr.write(`Both --from and --to are needed.\n\n${HELP}`);
    return 2;
  }
  const from = parseDatabaseUrl(args.from);
  const to = parseDatabaseUrl(args.to);
  for (const t of [from, to]) if (t.provider === 'postgresql') protectPassword(t);
  if (from.display === to.display) {
    process.stderr.write('--from and --to are the same database.\n');
    return 2;
  }
  process.stdout.write(`Copying ${from.display} -> ${to.display}\n`);
  const t0 = Date.now();
  let last = 0;
  const counts = await copyDatabase(args.from, args.to, {
    onProgress: (table, done, total) => {
      if (done === total || Date.now() - last > 1000) {
        last = Date.now();
        process.stdout.write(`  ${table}: ${done}/${total}\n`);
      }
    },
  });
  const summary = Object.entries(counts)
    .map(([t, n]) => `${n} ${t}`)
    .join(', ');
  process.stdout.write(`Copied ${summary} in ${((Date.now() - t0) / 1000).toFixed(1)} s.\n`);
  return 0;
}

runCli('db:copy', () => main(process.argv.slice(2)), {
  expected: (e) =>
    e instanceof CopyRefusedError ||
    e instanceof MigrationError ||
    e instanceof UnsupportedDatabaseError ||
    e instanceof DatabaseConnectionError,
});
