/**
 * `npm run db:deploy`: applies pending migrations to DATABASE_URL, offline (WebAssembly schema
 * engine), recording them in `_prisma_migrations` as `prisma migrate deploy` does. SQLite URLs use
 * prisma/migrations, PostgreSQL URLs prisma/postgresql/migrations.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { config } from '../config/env.ts';
import { migrate, MigrationError } from './migrate.ts';
import { displayPath, parseDatabaseUrl, providerPaths, UnsupportedDatabaseError } from './paths.ts';
import { DatabaseConnectionError, ensurePgDatabase, protectPassword } from './pg.ts';

const HELP = `Apply pending database migrations (offline; same result as \`prisma migrate deploy\`).

Usage: npm run db:deploy [-- options]

  --url <url>        database URL (default: DATABASE_URL from the environment or .env,
                     else file:./data/shoebot.db; relative paths resolve from the current folder).
                     file:... = SQLite, postgresql://USER:PASSWORD@HOST:5432/DATABASE = PostgreSQL
  --create-db        PostgreSQL: create the database first if it does not exist (the role needs CREATEDB)
  --migrations <dir> migrations folder (default prisma/migrations for SQLite,
                     prisma/postgresql/migrations for PostgreSQL)
  -h, --help         show this help

Safe to run repeatedly: applied migrations are skipped. The bot runs the same step when it starts.
Several processes may run it at once on one PostgreSQL database: they take turns.
`;


async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        migrations: { type: 'string' },
        'create-db': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const url = args.url ?? config().DATABASE_URL;
  const target = parseDatabaseUrl(url);
  if (target.provider === 'postgresql') {
    protectPassword(target);
    if (args['create-db'] && (await ensurePgDatabase(target))) process.stdout.write(`Created database ${target.display}\n`);
  } else if (args['create-db']) {
    process.stdout.write('(--create-db is for PostgreSQL; a SQLite file is created anyway)\n');
  }
  const migrationsDir = path.resolve(args.migrations ?? providerPaths(target.provider).migrationsDir);
  const result = await migrate(url, { migrationsDir });
  const where = result.where;
  process.stdout.write(`${result.total} migration(s) found in ${displayPath(migrationsDir)}\n`);
  if (result.applied.length === 0) process.stdout.write(`No pending migrations to apply (${where}).\n`);
  else process.stdout.write(`Applied to ${where}:\n${result.applied.map((n) => `  ${n}`).join('\n')}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const known =
      e instanceof MigrationError ||
      e instanceof UnsupportedDatabaseError ||
      e instanceof DatabaseConnectionError ||
      (e as Error)?.name === 'ConfigError';
    process.stderr.write(`db:deploy failed: ${known ? (e as Error).message : String((e as Error)?.stack ?? e)}\n`);
    process.exit(1);
  },
);
