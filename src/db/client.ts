/**
 * Opens shoebot's database: migrates it first (offline, see migrate.ts), then returns the generated
 * Prisma client over better-sqlite3 with WAL journaling and synchronous=NORMAL (a committed write
 * survives a crash of the process; only an OS crash or power loss can drop the last few).
 */
import fs from 'node:fs';
import path from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import type { SqlDriverAdapter, SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { config } from '../config/env.ts';
import { log } from '../log.ts';
import { PrismaClient } from './generated/client.ts';
import { migrate, TIMESTAMP_FORMAT, type MigrateOptions } from './migrate.ts';
import { sqlitePathFromUrl } from './paths.ts';

export { PrismaClient };
export type Db = PrismaClient;

/** Run on every new connection: synchronous and foreign_keys are per-connection settings. */
const CONNECTION_PRAGMAS = 'PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;';

export interface OpenDatabaseOptions extends MigrateOptions {
  /** Apply pending migrations first (default true). A helper process whose parent already migrated may skip it. */
  migrate?: boolean;
  /** How long a writer waits for another process's lock before failing, in ms (default 5000). */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating it if needed) the SQLite database at `url`, applies pending migrations, and
 * returns a connected Prisma client. Relative `file:` paths resolve against `opts.cwd` or
 * process.cwd(). PostgreSQL URLs are rejected with a clear error until that support lands.
 */
export async function openDatabase(
  url: string = config().DATABASE_URL,
  opts: OpenDatabaseOptions = {},
): Promise<PrismaClient> {
  const dbPath = sqlitePathFromUrl(url, opts.cwd);
  fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  // The migrator closes all of its connections before returning, so its EXCLUSIVE lock is gone.
  if (opts.migrate !== false) await migrate(`file:${dbPath}`, opts);

  const inner = new PrismaBetterSqlite3(
    { url: dbPath, timeout: opts.busyTimeoutMs ?? 5000 },
    { timestampFormat: TIMESTAMP_FORMAT },
  );
  const adapter: SqlDriverAdapterFactory = {
    provider: inner.provider,
    adapterName: inner.adapterName,
    async connect(): Promise<SqlDriverAdapter> {
      const conn = await inner.connect();
      await conn.executeScript(CONNECTION_PRAGMAS);
      return conn;
    },
  };
  const db = new PrismaClient({ adapter });
  try {
    const [mode] = await db.$queryRawUnsafe<{ journal_mode: string }[]>('PRAGMA journal_mode');
    if (mode?.journal_mode !== 'wal') {
      log().warn({ dbPath, journalMode: mode?.journal_mode }, 'SQLite refused WAL mode; writes will be slower');
    }
  } catch (e) {
    await db.$disconnect().catch(() => undefined);
    throw e;
  }
  log().debug({ dbPath }, 'database open');
  return db;
}
