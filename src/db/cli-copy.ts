/**
 * `npm run db:copy -- --from <url> --to <url>`: copies designs, votes, checkpoints and training runs
 * between databases (e.g. SQLite -> PostgreSQL when a bot outgrows one machine). See copy.ts.
 */
import { parseArgs } from 'node:util';
import { copyDatabase, CopyRefusedError } from './copy.ts';
import { MigrationError } from './migrate.ts';
import { parseDatabaseUrl, UnsupportedDatabaseError } from './paths.ts';
import { DatabaseConnectionError, protectPassword } from './pg.ts';

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
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: { from: { type: 'string' }, to: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
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
  const summary = Object.entries(counts).map(([t, n]) => `${n} ${t}`).join(', ');
  process.stdout.write(`Copied ${summary} in ${((Date.now() - t0) / 1000).toFixed(1)} s.\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const known =
      e instanceof CopyRefusedError ||
      e instanceof MigrationError ||
      e instanceof UnsupportedDatabaseError ||
      e instanceof DatabaseConnectionError;
    process.stderr.write(`db:copy failed: ${known ? (e as Error).message : String((e as Error)?.stack ?? e)}\n`);
    process.exit(1);
  },
);
