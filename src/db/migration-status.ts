/**
 * `prisma migrate status`, offline and read-only: which migrations of the folder a database lacks,
 * and which applied ones were edited, failed or are unknown to the folder (see migrate.ts for the
 * migrator this reports on).
 */
import fs from 'node:fs';
import { MigrationError } from './migration-error.ts';
import { readMigrations } from './migration-files.ts';
import { diagnoseHistory, type MigrateOptions } from './migrate.ts';
import { parseDatabaseUrl, providerPaths, type Provider } from './paths.ts';
import { connectPg } from './pg.ts';
import { withEngine } from './schema-engine.ts';

export interface MigrationStatus {
  provider: Provider;
  /** The database, fit for a message (relative SQLite path, or the URL without password). */
  where: string;
  /** Migrations of the folder not yet applied (`npm start` / `npm run db:deploy` applies them). */
  pending: string[];
  /** Applied migrations whose migration.sql changed since (the bot refuses to start). */
  edited: string[];
  /** Migrations recorded as failed (the bot refuses to start). */
  failed: string[];
  /** Applied migrations this folder does not have (a newer shoebot migrated the database). */
  unknown: string[];
  total: number;
}

/**
 * `prisma migrate status`, offline and read-only: what `migrate` would do to the database at `url`,
 * without doing it. A SQLite file must exist (this never creates one); connection problems throw the
 * same one-line errors as `migrate`.
 */
export async function migrationStatus(url: string, opts: MigrateOptions = {}): Promise<MigrationStatus> {
  const target = parseDatabaseUrl(url, opts.cwd);
  if (target.provider === 'sqlite' && !fs.existsSync(target.dbPath)) {
    throw new MigrationError(`${target.display} does not exist yet`, 'NO_DATABASE');
  }
  // The engine's own connection errors are vaguer than connectPg's one-line ones.
  if (target.provider === 'postgresql') await (await connectPg(target)).end();
  const migrationsDir = opts.migrationsDir ?? providerPaths(target.provider).migrationsDir;
  const list = await readMigrations(migrationsDir);
  const names = list.migrationDirectories.map((m) => m.path);
  return withEngine(target, undefined, async (engine) => {
    const base = { provider: target.provider, where: target.display, total: names.length };
    const d = await diagnoseHistory(engine, list);
    // No `_prisma_migrations` table: nothing applied yet.
    if (!d) return { ...base, pending: names, edited: [], failed: [], unknown: [] };
    const h = d.history;
    return {
      ...base,
      pending: h && h.diagnostic !== 'migrationsDirectoryIsBehind' ? h.unappliedMigrationNames : [],
      edited: d.editedMigrationNames,
      failed: d.failedMigrationNames,
      unknown: h && h.diagnostic !== 'databaseIsBehind' ? h.unpersistedMigrationNames : [],
    };
  });
}
