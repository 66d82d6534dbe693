/**
 * The offline half of `prisma migrate dev --create-only`: a new migration from the difference
 * between the committed history (replayed on a scratch database) and the Prisma schema, written in
 * the CLI's layout (migration-files.ts). Touches no real data.
 */
import crypto from 'node:crypto';
import type { MigrationList } from '@prisma/schema-engine-wasm';
import { MigrationError } from './migration-error.ts';
import { migrationSlug, readMigrations, readSchema, writeMigration, type SchemaFile } from './migration-files.ts';
import { applyNamingFailures } from './migrate.ts';
import { parseDatabaseUrl, providerPaths, type Provider } from './paths.ts';
import { connectPg, quoteIdent, urlWithDatabase, type PgTarget } from './pg.ts';
import { NO_FILTER, withEngine } from './schema-engine.ts';
import type { EngineTarget } from './schema-engine-adapters.ts';

export interface CreateMigrationOptions {
  /** User-given name, e.g. "add_blend_parent"; becomes `<UTC timestamp>_<name>`. */
  name: string;
  /** Create the migration even when the schema did not change (to hand-write SQL). */
  empty?: boolean;
  /** Which history to extend (default sqlite). */
  provider?: Provider;
  /** Default: the provider's schema. */
  schemaPath?: string;
  /** Default: the provider's migrations folder. */
  migrationsDir?: string;
  /**
   * PostgreSQL only: a server to diff on (a URL whose role may CREATE DATABASE; its database is
   * left alone: the history is replayed on scratch databases that are dropped afterwards).
   */
  serverUrl?: string;
}

export interface CreateMigrationResult {
  /** Folder name of the new migration, or undefined when the schema matched the migrations. */
  name?: string;
  /** Path of the written migration.sql. */
  file?: string;
  script?: string;
}

/**
 * The offline half of `prisma migrate dev --create-only`: diffs the committed migrations (replayed on
 * an in-memory shadow database for SQLite; on scratch databases of `opts.serverUrl` for PostgreSQL)
 * against the schema and writes `<timestamp>_<name>/migration.sql` plus `migration_lock.toml`, in the
 * CLI's layout. Touches no real data.
 */
export async function createMigration(opts: CreateMigrationOptions): Promise<CreateMigrationResult> {
  const provider = opts.provider ?? 'sqlite';
  const defaults = providerPaths(provider);
  const schemaPath = opts.schemaPath ?? defaults.schemaPath;
  const migrationsDir = opts.migrationsDir ?? defaults.migrationsDir;
  const schema = readSchema(schemaPath);
  if (!schema) throw new MigrationError(`Cannot read the Prisma schema at ${schemaPath}`);
  const migrationName = migrationSlug(opts.name);
  const list = await readMigrations(migrationsDir);

  if (provider === 'sqlite')
    return diffAndWrite({ provider: 'sqlite', dbPath: ':memory:' }, schema, list, migrationName, migrationsDir, opts);
  if (!opts.serverUrl)
    throw new MigrationError('Creating a PostgreSQL migration needs a server to diff on (serverUrl)');
  const server = parseDatabaseUrl(opts.serverUrl);
  if (server.provider !== 'postgresql') throw new MigrationError('serverUrl must be a postgresql:// URL');
  const scratchName = `shoebot_scratch_${crypto.randomBytes(6).toString('hex')}`;
  const admin = await connectPg(server, { application_name: 'shoebot-migrate' });
  try {
    await admin.query(`CREATE DATABASE ${quoteIdent(scratchName)}`);
    const scratch: PgTarget = { ...server, url: urlWithDatabase(server.url, scratchName), database: scratchName };
    return await diffAndWrite(scratch, schema, list, migrationName, migrationsDir, opts);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratchName)} WITH (FORCE)`).catch(() => undefined);
    await admin.end().catch(() => undefined);
  }
}

async function diffAndWrite(
  target: EngineTarget,
  schema: SchemaFile,
  list: MigrationList,
  migrationName: string,
  migrationsDir: string,
  opts: CreateMigrationOptions,
): Promise<CreateMigrationResult> {
  return withEngine(target, schema, async (engine) => {
    // The engine's createMigration only reaches the shadow database through the schema cache that
    // devDiagnostic fills, and devDiagnostic needs `_prisma_migrations` on the main database
    // (P1014 otherwise): so replay the history on an in-memory main database first, as
    // `migrate dev` would on a development database.
    await applyNamingFailures(engine, list, 'a scratch database', 'fix its SQL first');
    const { action } = await engine.devDiagnostic({ migrationsList: list, filters: NO_FILTER });
    if (action.tag === 'reset') {
      throw new MigrationError(`The committed migrations cannot be replayed: ${action.reason}`);
    }
    const out = await engine.createMigration({
      draft: opts.empty ?? false,
      migrationName,
      migrationsList: list,
      schema: { files: [schema] },
      filters: NO_FILTER,
    });
    if (out.migrationScript === null) return {};
    return writeMigration(migrationsDir, list.lockfile.path, {
      name: out.generatedMigrationName,
      extension: out.extension,
      script: out.migrationScript,
      connectorType: out.connectorType,
    });
  });
}
