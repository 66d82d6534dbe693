/**
 * PostgreSQL's own migration history (prisma/postgresql/migrations), applied by the same offline
 * migrator as SQLite, on a real server (test/setup/postgres.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { createMigration } from '../../src/db/create-migration.ts';
import { migrate } from '../../src/db/migrate.ts';
import { MigrationError } from '../../src/db/migration-error.ts';
import { PG_MIGRATIONS_DIR, PROJECT_ROOT, SCHEMA_PATH } from '../../src/db/paths.ts';
import { DatabaseConnectionError } from '../../src/db/pg.ts';
import { freePort } from '../../src/db/pg-cluster.ts';
import { derivePgSchema } from '../../scripts/pg-schema.mjs';
import { freshPgDatabase, pgAdminUrl, pgUrlFor } from '../setup/pg-url.ts';
import { tempDir } from './helpers.ts';

const committed = fs
  .readdirSync(PG_MIGRATIONS_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

function copyMigrations(): string {
  const dir = path.join(tempDir('shoebot-pgmig-'), 'migrations');
  fs.cpSync(PG_MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

const rows = (url: string) =>
  query<MigrationRow>(url, 'SELECT * FROM _prisma_migrations ORDER BY started_at, migration_name');

/** A URL like `url` with another password (or user/database). */
function withCredentials(url: string, change: { password?: string; database?: string }): string {
  const u = new URL(url);
  if (change.password !== undefined) u.password = change.password;
  if (change.database !== undefined) u.pathname = `/${change.database}`;
  return u.toString();
}

describe('PostgreSQL migration history', () => {
  it('has one init migration creating a table for every model of the schema, provider postgresql', () => {
    expect(committed[0]).toMatch(/^\d{14}_init$/);
    expect(fs.readFileSync(path.join(PG_MIGRATIONS_DIR, 'migration_lock.toml'), 'utf8')).toMatch(
      /^provider = "postgresql"$/m,
    );
    const sql = committed
      .map((m) => fs.readFileSync(path.join(PG_MIGRATIONS_DIR, m, 'migration.sql'), 'utf8'))
      .join('\n');
    const models = [...fs.readFileSync(SCHEMA_PATH, 'utf8').matchAll(/^model (\w+) \{/gm)].map((m) => m[1]);
    expect(models).toEqual(
      expect.arrayContaining(['Design', 'Vote', 'Checkpoint', 'TrainingRun', 'TrainerLease', 'TrainerRequest']),
    );
    for (const m of models) expect(sql).toContain(`CREATE TABLE "${m}"`);
    expect(sql).toMatch(/"secondParentId" INTEGER/);
    expect(sql).toMatch(/"steering" DOUBLE PRECISION/);
  });

  it('applies every migration once on a fresh database, records them like migrate deploy, and is idempotent', async () => {
    const url = await freshPgDatabase();
    const before = Date.now();
    const first = await migrate(url);
    expect(first.provider).toBe('postgresql');
    expect(first.applied).toEqual(committed);
    expect(first.where).not.toContain(new URL(url).password);

    const recorded = await rows(url);
    expect(recorded.map((r) => r.migration_name)).toEqual(committed);
    for (const r of recorded) {
      const sql = fs.readFileSync(path.join(PG_MIGRATIONS_DIR, r.migration_name, 'migration.sql'));
      expect(r.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.started_at).toBeInstanceOf(Date); // timestamptz, as the native engine creates it
      expect(r.started_at.getTime()).toBeGreaterThanOrEqual(before - 5000);
      expect(r.finished_at!.getTime()).toBeGreaterThanOrEqual(r.started_at.getTime());
      expect(r.applied_steps_count).toBe(1);
      expect(r.logs).toBeNull();
      expect(r.rolled_back_at).toBeNull();
    }
    const second = await migrate(url);
    expect(second.applied).toEqual([]);
    expect(await rows(url)).toEqual(recorded);
    const tables = await query<{ tablename: string }>(
      url,
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
    );
    expect(tables.map((t) => t.tablename)).toEqual(
      expect.arrayContaining([
        'Design',
        'Vote',
        'Checkpoint',
        'TrainingRun',
        'TrainerLease',
        'TrainerRequest',
        '_prisma_migrations',
      ]),
    );
    // No engine connection left behind (its advisory lock would live as long as its session).
    const dbName = new URL(url).pathname.slice(1);
    const left = await query<{ n: string }>(
      pgAdminUrl(),
      `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE 'shoebot-%' AND datname = '${dbName}'`,
    );
    expect(Number(left[0].n)).toBe(0);
  });

  it('two processes migrating the same fresh database at once: both succeed, each migration applied once', async () => {
    const url = await freshPgDatabase();
    const deploy = () =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/db-deploy.ts', '--url', url], {
          cwd: PROJECT_ROOT,
          env: { ...process.env, LOG_LEVEL: 'silent' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (b: Buffer) => (out += b.toString()));
        child.stderr.on('data', (b: Buffer) => (out += b.toString()));
        child.on('exit', (code) => resolve({ code, out }));
      });
    const [a, b] = await Promise.all([deploy(), deploy()]);
    expect(a.code, a.out).toBe(0);
    expect(b.code, b.out).toBe(0);
    // Exactly one of them applied the history; the other found nothing pending.
    expect([a.out, b.out].filter((o) => o.includes('Applied to')).length).toBe(1);
    expect([a.out, b.out].filter((o) => o.includes('No pending migrations')).length).toBe(1);
    expect((await rows(url)).map((r) => r.migration_name)).toEqual(committed);
    for (const o of [a.out, b.out]) expect(o).not.toContain(new URL(url).password);
  });

  it('refuses to run when an applied migration was modified, naming it', async () => {
    const migrationsDir = copyMigrations();
    const url = await freshPgDatabase();
    await migrate(url, { migrationsDir });
    fs.appendFileSync(path.join(migrationsDir, committed[0], 'migration.sql'), '\n-- edited later\n');
    const err = await migrate(url, { migrationsDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as Error).message).toContain(`\`${committed[0]}\` was modified after it was applied`);
    // openDatabase refuses too: the bot does not start on a database its history does not match.
    await expect(openDatabase(url, { migrationsDir })).rejects.toThrow(/was modified after it was applied/);
  });

  it('records a failing migration and then refuses to continue, naming it', async () => {
    const migrationsDir = copyMigrations();
    fs.mkdirSync(path.join(migrationsDir, '29990101000000_broken'));
    fs.writeFileSync(
      path.join(migrationsDir, '29990101000000_broken', 'migration.sql'),
      'ALTER TABLE "Nope" ADD x INT;\n',
    );
    const url = await freshPgDatabase();
    const first = await migrate(url, { migrationsDir }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(MigrationError);
    expect((first as Error).message).toMatch(/^Migration `29990101000000_broken` failed on .*Nope/);
    const again = await migrate(url, { migrationsDir }).catch((e: unknown) => e);
    expect((again as Error).message).toContain('`29990101000000_broken` failed earlier');
    const failed = (await rows(url)).find((r) => r.migration_name === '29990101000000_broken');
    expect(failed?.finished_at).toBeNull();
    expect(failed?.logs).toMatch(/Nope/);
  });

  it('finds no difference between the PostgreSQL schema and its committed migrations', async () => {
    // Fails when prisma/schema.prisma changed without `npm run db:migrate` making the PG migration.
    const migrationsDir = copyMigrations();
    const result = await createMigration({
      name: 'drift_check',
      provider: 'postgresql',
      migrationsDir,
      serverUrl: pgAdminUrl(),
    });
    expect(result.name).toBeUndefined();
    expect(fs.readdirSync(migrationsDir).sort()).toEqual([...committed, 'migration_lock.toml'].sort());
    // The scratch and shadow databases it used are gone.
    const dbs = await query<{ datname: string }>(
      pgAdminUrl(),
      "SELECT datname FROM pg_database WHERE datname LIKE 'shoebot\\_scratch\\_%' OR datname LIKE 'shoebot\\_shadow\\_%'",
    );
    expect(dbs).toEqual([]);
  });

  it('db:migrate makes the PostgreSQL migration for a schema change (on SHOEBOT_MIGRATE_PG_URL), which then applies', async () => {
    const work = tempDir('shoebot-pgcli-');
    const migrationsDir = path.join(work, 'migrations');
    fs.cpSync(PG_MIGRATIONS_DIR, migrationsDir, { recursive: true });
    const schemaPath = path.join(work, 'schema.prisma');
    const changed = fs
      .readFileSync(SCHEMA_PATH, 'utf8')
      .replace(/(model Design \{\n)/, '$1  title             String?\n');
    fs.writeFileSync(schemaPath, derivePgSchema(changed));
    const url = await freshPgDatabase();
    await migrate(url, { migrationsDir });

    const cli = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/bin/db-migrate.ts',
        '--name',
        'Add design title',
        '--provider',
        'postgresql',
        '--schema',
        schemaPath,
        '--migrations',
        migrationsDir,
        '--no-generate',
      ],
      {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        env: { ...process.env, LOG_LEVEL: 'warn', SHOEBOT_MIGRATE_PG_URL: pgAdminUrl() },
      },
    );
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    const created = fs.readdirSync(migrationsDir).filter((n) => !committed.includes(n) && n !== 'migration_lock.toml');
    expect(created).toHaveLength(1);
    expect(created[0]).toMatch(/^\d{14}_add_design_title$/);
    expect(fs.readFileSync(path.join(migrationsDir, created[0], 'migration.sql'), 'utf8')).toMatch(
      /ALTER TABLE "Design" ADD COLUMN\s+"title" TEXT/,
    );
    expect((await migrate(url, { migrationsDir })).applied).toEqual(created);
    const cols = await query<{ column_name: string }>(
      url,
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'Design'",
    );
    expect(cols.map((c) => c.column_name)).toContain('title');
  });
});

describe('PostgreSQL connection errors: one clear line, never the password', () => {
  const secret = 'Sup3r-Secret-Passw0rd';

  it('a role whose password needs percent-encoding connects, migrates and works', async () => {
    const password = 'p@ss%w:rd/?#1';
    const role = `shoebot_role_${Date.now()}`;
    const dbUrl = await freshPgDatabase();
    const dbName = new URL(dbUrl).pathname.slice(1);
    await query(pgAdminUrl(), `CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await query(pgAdminUrl(), `ALTER DATABASE "${dbName}" OWNER TO ${role}`);
    await query(dbUrl, `ALTER SCHEMA public OWNER TO ${role}`);
    const u = new URL(dbUrl);
    const url = `postgresql://${role}:${encodeURIComponent(password)}@${u.host}/${dbName}`;
    const db = await openDatabase(url);
    try {
      expect(await db.design.count()).toBe(0);
    } finally {
      await db.$disconnect();
    }
    const wrong = await openDatabase(
      url.replace(encodeURIComponent(password), encodeURIComponent(`${password}x`)),
    ).catch((e: unknown) => e);
    expect((wrong as Error).message).toContain(`refused the password for user "${role}"`);
    expect((wrong as Error).message).not.toContain('p@ss');
    // Roles are server-wide: leave none behind on a server given by SHOEBOT_TEST_PG_URL.
    await query(dbUrl, `REASSIGN OWNED BY ${role} TO CURRENT_USER; DROP OWNED BY ${role}`);
    await query(pgAdminUrl(), `DROP ROLE ${role}`);
  });

  it('server unreachable', async () => {
    const port = await freePort(); // nothing listens there
    const err = await openDatabase(`postgresql://bot:${secret}@127.0.0.1:${port}/shoebot`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseConnectionError);
    expect((err as Error).message).toMatch(
      new RegExp(`^Cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
    );
    expect((err as Error).message).not.toContain(secret);
    expect((err as Error).message).not.toContain('\n');
  });

  it('wrong password', async () => {
    const url = withCredentials(pgAdminUrl(), { password: secret });
    const err = await openDatabase(url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseConnectionError);
    expect((err as Error).message).toContain(`refused the password for user "${new URL(url).username}"`);
    expect((err as Error).message).not.toContain(secret);
  });

  it('database missing: names the createdb command; db:deploy --create-db creates it', async () => {
    const name = `shoebot_missing_${Date.now()}`;
    const url = pgUrlFor(name);
    const err = await openDatabase(url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseConnectionError);
    expect((err as Error).message).toContain(`Database "${name}" does not exist`);
    expect((err as Error).message).toContain(`createdb -O ${new URL(url).username} ${name}`);
    expect((err as Error).message).not.toContain(new URL(url).password);

    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/bin/db-deploy.ts', '--url', url], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: { ...process.env, LOG_LEVEL: 'info' },
    });
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(/^db:deploy failed: Database ".*" does not exist/);
    expect(cli.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(cli.stderr + cli.stdout).not.toContain(new URL(url).password);

    const created = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/bin/db-deploy.ts', '--url', url, '--create-db'],
      {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        env: { ...process.env, LOG_LEVEL: 'info' },
      },
    );
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    expect(created.stdout).toContain(`Created database postgresql://${new URL(url).username}@`);
    expect(created.stdout).toContain(`Applied to postgresql://${new URL(url).username}@`);
    expect(created.stdout).not.toContain(new URL(url).password); // nor in the JSON log lines
    const db = await openDatabase(url);
    try {
      expect(await db.design.count()).toBe(0);
    } finally {
      await db.$disconnect();
    }
    await query(pgAdminUrl(), `DROP DATABASE "${name}" WITH (FORCE)`);
  });
});
