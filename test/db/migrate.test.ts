import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createMigration } from '../../src/db/create-migration.ts';
import { migrate } from '../../src/db/migrate.ts';
import { MigrationError } from '../../src/db/migration-error.ts';
import { migrationSlug } from '../../src/db/migration-files.ts';
import {
  MIGRATIONS_DIR,
  parseDatabaseUrl,
  PROJECT_ROOT,
  redactUrl,
  SCHEMA_PATH,
  sqlitePathFromUrl,
} from '../../src/db/paths.ts';
import { tempDbUrl, tempDir } from './helpers.ts';

const committed = fs
  .readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

/** A copy of the committed migrations that a test may change. */
function copyMigrations(): string {
  const dir = path.join(tempDir('shoebot-mig-'), 'migrations');
  fs.cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: number | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: number | null;
  started_at: number;
  applied_steps_count: number;
}

function rows(dbPath: string): MigrationRow[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT * FROM _prisma_migrations ORDER BY started_at, migration_name').all() as MigrationRow[];
  } finally {
    db.close();
  }
}

describe('migrate (WebAssembly schema engine)', () => {
  it('has a committed initial migration in the CLI layout, with a table named Vote', () => {
    expect(committed.length).toBeGreaterThan(0);
    expect(committed[0]).toMatch(/^\d{14}_init$/);
    expect(fs.readFileSync(path.join(MIGRATIONS_DIR, 'migration_lock.toml'), 'utf8')).toMatch(/^provider = "sqlite"$/m);
    expect(fs.readFileSync(path.join(MIGRATIONS_DIR, committed[0], 'migration.sql'), 'utf8')).toContain(
      'CREATE TABLE "Vote"',
    );
  });

  it('applies every migration once on a fresh file, records them like migrate deploy, and is idempotent', async () => {
    const url = tempDbUrl();
    const before = Date.now();
    const first = await migrate(url);
    expect(first.applied).toEqual(committed);
    expect(first.total).toBe(committed.length);
    expect(fs.existsSync(first.dbPath)).toBe(true);

    const recorded = rows(first.dbPath);
    expect(recorded.map((r) => r.migration_name)).toEqual(committed);
    for (const r of recorded) {
      const sql = fs.readFileSync(path.join(MIGRATIONS_DIR, r.migration_name, 'migration.sql'));
      expect(r.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
      // Prisma's native engine stores SQLite dates as Unix milliseconds; so must we.
      expect(typeof r.started_at).toBe('number');
      expect(typeof r.finished_at).toBe('number');
      expect(r.started_at).toBeGreaterThanOrEqual(before - 1000);
      expect(r.finished_at!).toBeGreaterThanOrEqual(r.started_at);
      expect(r.applied_steps_count).toBe(1);
      expect(r.logs).toBeNull();
      expect(r.rolled_back_at).toBeNull();
    }

    const second = await migrate(url);
    expect(second.applied).toEqual([]);
    expect(rows(first.dbPath)).toEqual(recorded);

    // The engine ran with locking_mode=EXCLUSIVE: its connections must be closed, or this write blocks.
    const other = new Database(first.dbPath, { timeout: 100 });
    try {
      other.exec('BEGIN IMMEDIATE; CREATE TABLE probe (x); ROLLBACK;');
      const tables = other.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
      expect(tables.map((t) => t.name)).toEqual(
        expect.arrayContaining(['Design', 'Vote', 'Checkpoint', 'TrainingRun', '_prisma_migrations']),
      );
    } finally {
      other.close();
    }
  });

  it('refuses to run when an applied migration was modified, naming it', async () => {
    const migrationsDir = copyMigrations();
    const url = tempDbUrl();
    await migrate(url, { migrationsDir });
    const name = committed[0];
    fs.appendFileSync(path.join(migrationsDir, name, 'migration.sql'), '\n-- edited later\n');
    const err = await migrate(url, { migrationsDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as Error).message).toContain(`\`${name}\` was modified after it was applied`);
  });

  it('records a failing migration and then refuses to continue, naming it', async () => {
    const migrationsDir = copyMigrations();
    fs.mkdirSync(path.join(migrationsDir, '29990101000000_broken'));
    fs.writeFileSync(
      path.join(migrationsDir, '29990101000000_broken', 'migration.sql'),
      'ALTER TABLE "Nope" ADD x INT;\n',
    );
    const url = tempDbUrl();
    const first = await migrate(url, { migrationsDir }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(MigrationError);
    expect((first as Error).message).toMatch(/^Migration `29990101000000_broken` failed on .*Nope/);
    const again = await migrate(url, { migrationsDir }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(MigrationError);
    expect((again as Error).message).toContain('`29990101000000_broken` failed earlier');
    const failed = rows(sqlitePathFromUrl(url)).find((r) => r.migration_name === '29990101000000_broken');
    expect(failed?.finished_at).toBeNull();
    expect(failed?.logs).toMatch(/Nope/);
  });

  it('finds no difference between the schema and the committed migrations', async () => {
    // Fails when someone edits prisma/schema.prisma without `npm run db:migrate -- --name ...`.
    const migrationsDir = copyMigrations();
    const result = await createMigration({ name: 'drift_check', migrationsDir });
    expect(result.name).toBeUndefined();
    expect(fs.readdirSync(migrationsDir).sort()).toEqual([...committed, 'migration_lock.toml'].sort());
  });

  it('db:migrate creates a migration from a schema change that the migrator then applies', async () => {
    const migrationsDir = copyMigrations();
    const schemaPath = path.join(path.dirname(migrationsDir), 'schema.prisma');
    const schema = fs.readFileSync(SCHEMA_PATH, 'utf8');
    const changed = schema.replace(/(model Design \{\n)/, '$1  title             String?\n');
    expect(changed).not.toBe(schema);
    fs.writeFileSync(schemaPath, changed);

    const url = tempDbUrl();
    await migrate(url, { migrationsDir }); // a database already at the previous version

    const cli = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/bin/db-migrate.ts',
        '--name',
        'Add design title',
        '--provider',
        'sqlite',
        '--schema',
        schemaPath,
        '--migrations',
        migrationsDir,
        '--no-generate',
      ],
      { cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'warn' } },
    );
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    const created = fs.readdirSync(migrationsDir).filter((n) => !committed.includes(n) && n !== 'migration_lock.toml');
    expect(created).toHaveLength(1);
    expect(created[0]).toMatch(/^\d{14}_add_design_title$/);
    expect(cli.stdout).toContain(created[0]);
    expect(fs.readFileSync(path.join(migrationsDir, created[0], 'migration.sql'), 'utf8')).toMatch(
      /ALTER TABLE "Design" ADD COLUMN "title" TEXT/,
    );
    expect(fs.readFileSync(path.join(migrationsDir, 'migration_lock.toml'), 'utf8')).toBe(
      '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "sqlite"\n',
    );

    const result = await migrate(url, { migrationsDir });
    expect(result.applied).toEqual(created);
    const db = new Database(sqlitePathFromUrl(url), { readonly: true });
    const columns = db.prepare('PRAGMA table_info("Design")').all() as { name: string }[];
    db.close();
    expect(columns.map((c) => c.name)).toContain('title');

    // Running it again without a further change creates nothing.
    const again = await createMigration({ name: 'nothing', schemaPath, migrationsDir });
    expect(again.name).toBeUndefined();
  });

  it('creates an empty migration for hand-written SQL, which later diffs replay without error', async () => {
    const migrationsDir = copyMigrations();
    const empty = await createMigration({ name: 'hand written', empty: true, migrationsDir });
    expect(empty.name).toMatch(/^\d{14}_hand_written$/);
    expect(empty.script).toMatch(/^-- This is an empty migration\.\s*$/);
    // A comment-only script is what better-sqlite3's prepare() rejects when replayed on the shadow DB.
    expect((await createMigration({ name: 'after', migrationsDir })).name).toBeUndefined();
    fs.writeFileSync(empty.file!, 'CREATE INDEX "Design_seed_idx" ON "Design"("seed");\n');
    const result = await migrate(tempDbUrl(), { migrationsDir });
    expect(result.applied).toEqual([...committed, empty.name]);
  });

  it('resolves relative file: URLs against the working directory; other schemes clearly', () => {
    expect(sqlitePathFromUrl('file:./data/x.db', '/srv/bot')).toBe('/srv/bot/data/x.db');
    expect(sqlitePathFromUrl('file:data/x.db?connection_limit=1', '/srv/bot')).toBe('/srv/bot/data/x.db');
    expect(sqlitePathFromUrl('file:/var/lib/shoebot.db', '/srv/bot')).toBe('/var/lib/shoebot.db');
    expect(sqlitePathFromUrl('file:///var/lib/shoebot.db', '/srv/bot')).toBe('/var/lib/shoebot.db');
    expect(() => sqlitePathFromUrl('postgresql://u:p@db/shoebot')).toThrow(/got a PostgreSQL URL/);
    expect(() => sqlitePathFromUrl('postgresql://u:secret@db/shoebot')).not.toThrow(/secret/);
    expect(() => sqlitePathFromUrl('mysql://u:secret@db/shoebot')).toThrow(/"mysql:" is not supported/);
    expect(() => sqlitePathFromUrl('mysql://u:secret@db/shoebot')).not.toThrow(/secret/);
    const pgTarget = parseDatabaseUrl('postgres://bot:p%40ss@db.example:6543/shoe%20bot?sslmode=require');
    expect(pgTarget).toMatchObject({
      provider: 'postgresql',
      host: 'db.example',
      port: 6543,
      user: 'bot',
      database: 'shoe bot',
      password: 'p@ss',
    });
    expect(pgTarget.display).toBe('postgresql://bot@db.example:6543/shoe%20bot');
    expect(redactUrl('postgresql://bot:s3cret@db:5432/x')).toBe('postgresql://bot:***@db:5432/x');
    expect(() => sqlitePathFromUrl('file::memory:')).toThrow(/in-memory/);
    expect(migrationSlug('Add design title!')).toBe('add_design_title');
    expect(() => migrationSlug('  !! ')).toThrow(/--name/);
  });

  it('the db CLIs explain themselves with --help', () => {
    for (const script of ['src/bin/db-migrate.ts', 'src/bin/db-deploy.ts', 'src/bin/db-copy.ts']) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', script, '--help'], {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
      });
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Usage: npm run db:/m);
    }
  });
});
