/**
 * `npm run db:migrate -- --name <change>`: creates a new migration from a change to
 * prisma/schema.prisma, offline (WebAssembly schema engine), then regenerates the Prisma client.
 * It touches no database; `npm run db:deploy` or the bot's next start applies the migration.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createMigration, MigrationError } from './migrate.ts';
import { displayPath, MIGRATIONS_DIR, PROJECT_ROOT, SCHEMA_PATH } from './paths.ts';

const HELP = `Create a database migration from a change to the Prisma schema (offline).

Usage: npm run db:migrate -- --name <change> [options]

  --name <change>    what the migration does, e.g. add_blend_parent (required)
  --empty            create the migration even without a schema change, to hand-write SQL
  --schema <file>    Prisma schema (default prisma/schema.prisma)
  --migrations <dir> migrations folder (default prisma/migrations)
  --no-generate      do not regenerate the Prisma client afterwards
  -h, --help         show this help

Writes prisma/migrations/<UTC timestamp>_<change>/migration.sql and migration_lock.toml, exactly
as \`prisma migrate dev --create-only\` would. Review the SQL, commit it, then apply it with
\`npm run db:deploy\` (the bot also applies pending migrations when it starts).
`;


async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        name: { type: 'string', short: 'n' },
        empty: { type: 'boolean' },
        schema: { type: 'string' },
        migrations: { type: 'string' },
        'no-generate': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!args.name) {
    process.stderr.write(`Missing --name.\n\n${HELP}`);
    return 2;
  }
  const schemaPath = path.resolve(args.schema ?? SCHEMA_PATH);
  const migrationsDir = path.resolve(args.migrations ?? MIGRATIONS_DIR);
  const result = await createMigration({ name: args.name, empty: args.empty, schemaPath, migrationsDir });
  if (!result.name) {
    process.stdout.write(
      `No schema change found: ${displayPath(schemaPath)} matches the migrations in ` +
        `${displayPath(migrationsDir)}. (Use --empty for a hand-written migration.)\n`,
    );
    return 0;
  }
  process.stdout.write(`Created ${displayPath(result.file!)}\n`);
  if (!args['no-generate']) {
    const gen = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'prisma-generate.mjs')], {
      cwd: PROJECT_ROOT,
      stdio: 'inherit',
    });
    if (gen.status !== 0) {
      process.stderr.write('The migration was created, but regenerating the Prisma client failed (see above).\n');
      return 1;
    }
  }
  process.stdout.write('Review the SQL, then apply it with: npm run db:deploy\n');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`db:migrate failed: ${e instanceof MigrationError ? e.message : String((e as Error)?.stack ?? e)}\n`);
    process.exit(1);
  },
);
