/**
 * Applies Prisma migrations with no native engine (`prisma migrate deploy`, offline): Prisma's
 * schema engine compiled to WebAssembly (schema-engine.ts) talks to SQLite through the
 * better-sqlite3 driver adapter and to PostgreSQL through the pg adapter
 * (schema-engine-adapters.ts). Each provider has its own schema and history (prisma/migrations,
 * prisma/postgresql/migrations). `_prisma_migrations` is written by the engine itself, so its rows
 * are the ones `prisma migrate deploy` writes, and an operator can switch to the ordinary Prisma
 * CLI on the same database and migration folder at any time. Reporting what would be applied is
 * migration-status.ts; creating a migration, create-migration.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm';
import { log } from '../log.ts';
import { engineMessage, MigrationError } from './migration-error.ts';
import { readMigrations, readSchema } from './migration-files.ts';
import { parseDatabaseUrl, providerPaths, type Provider } from './paths.ts';
import { LOCKS, withPgAdvisoryLock } from './pg.ts';
import { NO_FILTER, withEngine } from './schema-engine.ts';
import type { EngineTarget } from './schema-engine-adapters.ts';

export interface MigrateOptions {
  /** Folder of committed migrations (default: the provider's, prisma/migrations or prisma/postgresql/migrations). */
  migrationsDir?: string;
  /** Prisma schema (default: the provider's); optional for applying migrations. */
  schemaPath?: string;
  /** Base for relative file: URLs (default process.cwd()). */
  cwd?: string;
}

export interface MigrateResult {
  provider: Provider;
  /** Absolute path of the SQLite file; for PostgreSQL the URL without its password. */
  dbPath: string;
  /** The database, fit for a message (relative SQLite path, or the URL without password). */
  where: string;
  /** Migrations applied by this call, in order (empty when the database was up to date). */
  applied: string[];
  /** Number of migrations in the folder. */
  total: number;
}

/**
 * `prisma migrate deploy`, offline, for a SQLite `file:` URL or a PostgreSQL URL: creates the SQLite
 * file (and its folder) if needed, refuses to run when an applied migration was edited or an
 * earlier one failed (naming it), then applies every pending migration of that provider's history.
 * Idempotent; all connections are closed on return. On PostgreSQL, processes migrating the same
 * database at once take turns (an advisory lock), so each migration is applied exactly once.
 */
export async function migrate(url: string, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const target = parseDatabaseUrl(url, opts.cwd);
  if (target.provider === 'postgresql') {
    return withPgAdvisoryLock(target, LOCKS.migrate, () => migrateTarget(target, opts), { timeoutMs: 10 * 60_000 });
  }
  fs.mkdirSync(path.dirname(target.dbPath), { recursive: true });
  return migrateTarget(target, opts);
}

/** The migrations of `migrationsDir`, refusing an empty folder or an unreadable migration.sql. */
async function readDeployableMigrations(migrationsDir: string): Promise<MigrationList> {
  const list = await readMigrations(migrationsDir);
  if (list.migrationDirectories.length === 0) {
    throw new MigrationError(`No migrations found in ${migrationsDir}: the database cannot be created.`);
  }
  const unreadable = list.migrationDirectories.filter((m) => m.migrationFile.content.tag === 'error');
  if (unreadable.length > 0) {
    throw new MigrationError(
      `Cannot read migration.sql of ${unreadable.map((m) => m.path).join(', ')} in ${migrationsDir}`,
    );
  }
  return list;
}

async function migrateTarget(target: EngineTarget & { display: string }, opts: MigrateOptions): Promise<MigrateResult> {
  const defaults = providerPaths(target.provider);
  const dbPath = target.provider === 'sqlite' ? target.dbPath : target.display;
  const migrationsDir = opts.migrationsDir ?? defaults.migrationsDir;
  const list = await readDeployableMigrations(migrationsDir);
  const logger = log().child({ module: 'db.migrate' });

  return withEngine(target, readSchema(opts.schemaPath ?? defaults.schemaPath), async (engine) => {
    const diagnosis = await diagnoseHistory(engine, list);
    if (diagnosis) refuseBrokenHistory(diagnosis, dbPath, migrationsDir, logger);
    const appliedMigrationNames = await applyNamingFailures(
      engine,
      list,
      dbPath,
      'it is recorded as failed in _prisma_migrations; fix the SQL or the database, then see `npx prisma migrate resolve`',
    );
    if (appliedMigrationNames.length > 0) {
      logger.info({ dbPath, applied: appliedMigrationNames }, `applied ${appliedMigrationNames.length} migration(s)`);
    }
    return {
      provider: target.provider,
      dbPath,
      where: target.display,
      applied: appliedMigrationNames,
      total: list.migrationDirectories.length,
    };
  });
}

/** What the engine says about a database's history against the folder's migrations. */
export type HistoryDiagnosis = Awaited<ReturnType<SchemaEngine['diagnoseMigrationHistory']>>;

/**
 * The engine's diagnosis of the database's history against `list`, or undefined when the database
 * has no `_prisma_migrations` table yet (P1014: nothing applied; applyMigrations creates it).
 */
export async function diagnoseHistory(
  engine: SchemaEngine,
  list: MigrationList,
): Promise<HistoryDiagnosis | undefined> {
  try {
    return await engine.diagnoseMigrationHistory({
      migrationsList: list,
      optInToShadowDatabase: false,
      filters: NO_FILTER,
    });
  } catch (e) {
    if ((e as { code?: string }).code !== 'P1014') throw e;
    return undefined;
  }
}

/**
 * Throws (naming the migrations and what to do) when a migration failed earlier or was edited after
 * it was applied; warns when the database has migrations the folder lacks.
 */
function refuseBrokenHistory(
  diagnosis: HistoryDiagnosis,
  dbPath: string,
  migrationsDir: string,
  logger: ReturnType<typeof log>,
): void {
  if (diagnosis.failedMigrationNames.length > 0) {
    throw new MigrationError(
      `Migration ${diagnosis.failedMigrationNames.map((n) => `\`${n}\``).join(', ')} failed earlier on ` +
        `${dbPath} and was never completed. Fix the database by hand, then mark it with ` +
        '`npx prisma migrate resolve --rolled-back <name>` (or `--applied`), or restore a backup.',
      'P3009',
    );
  }
  if (diagnosis.editedMigrationNames.length > 0) {
    const names = diagnosis.editedMigrationNames.map((n) => `\`${n}\``).join(', ');
    throw new MigrationError(
      `Migration ${names} was modified after it was applied to ${dbPath} ` +
        `(its checksum no longer matches _prisma_migrations). Restore the original migration.sql ` +
        `(e.g. \`git checkout -- ${path.relative(process.cwd(), migrationsDir) || '.'}\`) and put schema changes in a new migration ` +
        '(`npm run db:migrate -- --name <change>`).',
      'EDITED_MIGRATION',
    );
  }
  const h = diagnosis.history;
  if (h && h.diagnostic !== 'databaseIsBehind') {
    // As `migrate deploy` does, carry on: the database was probably migrated by a newer shoebot.
    logger.warn(
      { unknownMigrations: h.unpersistedMigrationNames },
      `the database has migrations that ${migrationsDir} does not contain`,
    );
  }
}

/**
 * applyMigrations of `list` (returns the names applied), with the failing migration's name, the
 * database (`where`) and `hint` added to the engine's bare SQL error.
 */
export async function applyNamingFailures(
  engine: SchemaEngine,
  list: MigrationList,
  where: string,
  hint: string,
): Promise<string[]> {
  try {
    return (await engine.applyMigrations({ migrationsList: list, filters: NO_FILTER })).appliedMigrationNames;
  } catch (e) {
    const failed = await engine
      .diagnoseMigrationHistory({ migrationsList: list, optInToShadowDatabase: false, filters: NO_FILTER })
      .then((d) => d.failedMigrationNames)
      .catch(() => [] as string[]);
    if (failed.length === 0) throw e;
    throw new MigrationError(
      `Migration \`${failed.join('`, `')}\` failed on ${where}: ${engineMessage(e)} (${hint})`,
      'MIGRATION_FAILED',
    );
  }
}
