/**
 * `npm run db:migrate -- --name <change>`: creates a new migration from a change to
 * prisma/schema.prisma for BOTH providers, offline (WebAssembly schema engine): it rewrites the
 * PostgreSQL twin schema (scripts/pg-schema.mjs), writes the SQLite migration, then the PostgreSQL
 * one, then regenerates both Prisma clients. The PostgreSQL diff needs a server: SHOEBOT_MIGRATE_PG_URL
 * (a role allowed to CREATE DATABASE; only scratch databases are created and dropped on it), else a
 * throw-away cluster started from Debian's postgresql binaries in a temporary folder.
 * It touches no real data; `npm run db:deploy` or the bot's next start applies the migrations.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createMigration, type CreateMigrationResult } from '../db/create-migration.ts';
import { MigrationError } from '../db/migration-error.ts';
import {
  displayPath,
  PG_MIGRATIONS_DIR,
  PG_SCHEMA_PATH,
  PROJECT_ROOT,
  providerPaths,
  SCHEMA_PATH,
  type Provider,
} from '../db/paths.ts';
import { DatabaseConnectionError } from '../db/pg.ts';
import { PgBinariesMissingError, startPgCluster } from '../db/pg-cluster.ts';
import { parseCommandLine, runCli } from './command-line.ts';

const HELP = `Create a database migration from a change to the Prisma schema (offline), for SQLite and PostgreSQL.

Usage: npm run db:migrate -- --name <change> [options]

  --name <change>      what the migration does, e.g. add_blend_parent (required)
  --empty              create the migration even without a schema change, to hand-write SQL
  --provider <p>       sqlite, postgresql or both (default both)
  --schema <file>      Prisma schema (default prisma/schema.prisma; with --provider postgresql
                       alone: prisma/postgresql/schema.prisma)
  --migrations <dir>   migrations folder (only with a single --provider; defaults
                       prisma/migrations and prisma/postgresql/migrations)
  --no-generate        do not regenerate the Prisma clients afterwards
  -h, --help           show this help

Edit prisma/schema.prisma only: prisma/postgresql/schema.prisma is derived from it and rewritten
here. The PostgreSQL diff runs on SHOEBOT_MIGRATE_PG_URL when set (a role with CREATEDB; its data is
not touched), else on a throw-away cluster from Debian's \`postgresql\` package (temporary folder,
127.0.0.1, removed afterwards).

Writes <migrations>/<UTC timestamp>_<change>/migration.sql and migration_lock.toml, exactly as
\`prisma migrate dev --create-only\` would. Review the SQL, commit it, then apply it with
\`npm run db:deploy\` (the bot also applies pending migrations when it starts).
`;

function syncPgSchema(): void {
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'pg-schema.mjs')], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new MigrationError('Deriving prisma/postgresql/schema.prisma failed (see above)');
}

async function main(argv: string[]): Promise<number> {
  const args = parseCommandLine(
    {
      args: argv,
      options: {
        name: { type: 'string', short: 'n' },
        empty: { type: 'boolean' },
        provider: { type: 'string' },
        schema: { type: 'string' },
        migrations: { type: 'string' },
        'no-generate': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    },
    HELP,
  );
  if (typeof args === 'number') return args;
  if (!args.name) {
    process.stderr.write(`Missing --name.\n\n${HELP}`);
    return 2;
  }
  const which = args.provider ?? 'both';
  if (!['sqlite', 'postgresql', 'both'].includes(which)) {
    process.stderr.write(`--provider must be sqlite, postgresql or both (got "${which}").\n`);
    return 2;
  }
  const providers: Provider[] = which === 'both' ? ['sqlite', 'postgresql'] : [which as Provider];
  if (args.migrations && providers.length > 1) {
    process.stderr.write('--migrations names one folder: use it with --provider sqlite or --provider postgresql.\n');
    return 2;
  }
  // The twin follows the main schema unless the caller hands us a schema of their own.
  if (!args.schema && providers.includes('postgresql')) syncPgSchema();

  let made = 0;
  for (const provider of providers) {
    const schemaPath = path.resolve(args.schema ?? providerPaths(provider).schemaPath);
    const migrationsDir = path.resolve(args.migrations ?? providerPaths(provider).migrationsDir);
    let result: CreateMigrationResult;
    if (provider === 'sqlite') {
      result = await createMigration({ name: args.name, empty: args.empty, schemaPath, migrationsDir });
    } else {
      result = await withPgServer((serverUrl) =>
        createMigration({ name: args.name!, empty: args.empty, provider, schemaPath, migrationsDir, serverUrl }),
      );
    }
    if (!result.name) {
      process.stdout.write(
        `${provider}: no schema change found: ${displayPath(schemaPath)} matches the migrations in ` +
          `${displayPath(migrationsDir)}. (Use --empty for a hand-written migration.)\n`,
      );
      continue;
    }
    made++;
    process.stdout.write(`${provider}: created ${displayPath(result.file!)}\n`);
  }
  if (made === 0) return 0;
  if (!args['no-generate']) {
    const gen = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'prisma-generate.mjs')], {
      cwd: PROJECT_ROOT,
      stdio: 'inherit',
    });
    if (gen.status !== 0) {
      process.stderr.write('The migrations were created, but regenerating the Prisma clients failed (see above).\n');
      return 1;
    }
  }
  process.stdout.write('Review the SQL, then apply it with: npm run db:deploy\n');
  return 0;
}

/** Runs `fn` with a PostgreSQL server URL to diff on: SHOEBOT_MIGRATE_PG_URL, else a throw-away cluster. */
async function withPgServer<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const given = process.env.SHOEBOT_MIGRATE_PG_URL;
  if (given) return fn(given);
  process.stdout.write('postgresql: starting a throw-away PostgreSQL cluster to diff on...\n');
  const cluster = await startPgCluster();
  try {
    return await fn(cluster.url);
  } finally {
    cluster.stop();
  }
}

runCli('db:migrate', () => main(process.argv.slice(2)), {
  expected: (e) =>
    e instanceof MigrationError || e instanceof PgBinariesMissingError || e instanceof DatabaseConnectionError,
  hint: (e) =>
    e instanceof PgBinariesMissingError && fs.existsSync(SCHEMA_PATH)
      ? `\nThe SQLite migration (if any) was written; after installing PostgreSQL run again with --provider postgresql ` +
        `(or set SHOEBOT_MIGRATE_PG_URL). ${displayPath(PG_SCHEMA_PATH)} -> ${displayPath(PG_MIGRATIONS_DIR)}`
      : '',
});
