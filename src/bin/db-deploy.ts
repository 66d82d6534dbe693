/**
 * `npm run db:deploy`: applies pending migrations to DATABASE_URL, offline (WebAssembly schema
 * engine), recording them in `_prisma_migrations` as `prisma migrate deploy` does. SQLite URLs use
 * prisma/migrations, PostgreSQL URLs prisma/postgresql/migrations.
 */
import path from 'node:path';
import { config } from '../config/env.ts';
import { migrate } from '../db/migrate.ts';
import { MigrationError } from '../db/migration-error.ts';
import { displayPath, parseDatabaseUrl, providerPaths, UnsupportedDatabaseError } from '../db/paths.ts';
import { DatabaseConnectionError, ensurePgDatabase, protectPassword } from '../db/pg.ts';
import { parseCommandLine, runCli } from './command-line.ts';

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
  const args = parseCommandLine(
    {
      args: argv,
      options: {
        url: { type: 'string' },
        migrations: { type: 'string' },
        'create-db': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    HELP,
  );
  if (typeof args === 'number') return args;
  const url = args.url ?? config().DATABASE_URL;
  const target = parseDatabaseUrl(url);
  if (target.provider === 'postgresql') {
    protectPassword(target);
    if (args['create-db'] && (await ensurePgDatabase(target)))
      process.stdout.write(`Created database ${target.display}\n`);
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

runCli('db:deploy', () => main(process.argv.slice(2)), {
  expected: (e) =>
    e instanceof MigrationError ||
    e instanceof UnsupportedDatabaseError ||
    e instanceof DatabaseConnectionError ||
    (e as Error)?.name === 'ConfigError',
});
