/**
 * Opens shoebot's database, chosen by the URL: `file:` -> SQLite over better-sqlite3 with WAL
 * journaling and synchronous=NORMAL (a committed write survives a crash of the process; only an OS
 * crash or power loss can drop the last few); `postgres://`/`postgresql://` -> PostgreSQL over the pg
 * driver adapter. Either way pending migrations of that provider's history are applied first
 * (offline, see migrate.ts), and repositories get ONE client type, `Db`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { config } from '../config/env.ts';
import { log } from '../log.ts';
import type { Prisma as PgPrisma } from './generated-pg/client.ts';
import { PrismaClient, type Prisma } from './generated/client.ts';
import { migrate, type MigrateOptions } from './migrate.ts';
import { TIMESTAMP_FORMAT } from './schema-engine-adapters.ts';
import { parseDatabaseUrl, type Provider } from './paths.ts';
import { connectPg, describePgError, pgConfig, protectPassword, type PgTarget } from './pg.ts';
import { StorageHealth } from './storage-health.ts';

export { PrismaClient };
/**
 * The client every repository takes, whatever the provider. It is typed as the SQLite client; a
 * PostgreSQL client stands in for it, which the compile-time check below keeps honest.
 */
export type Db = PrismaClient;

/*
 * Compile-time check that the PostgreSQL client can stand in for `Db`: for every model, the rows
 * are the same type both ways, and every operation's arguments that the SQLite client accepts, the
 * PostgreSQL one accepts too. (Whole-client assignability cannot be checked: TypeScript cannot relate
 * the generic conditional types of two separately generated clients.) If this line fails to compile,
 * the two generated clients describe different data models: run `node scripts/pg-schema.mjs` and
 * `npm run postinstall`.
 */
type SqliteModels = Prisma.TypeMap['model'];
type PgModels = PgPrisma.TypeMap['model'];
type CheckedOps =
  | 'findUnique'
  | 'findFirst'
  | 'findMany'
  | 'create'
  | 'createMany'
  | 'createManyAndReturn'
  | 'update'
  | 'updateMany'
  | 'upsert'
  | 'delete'
  | 'deleteMany'
  | 'aggregate'
  | 'groupBy'
  | 'count';
type ModelMismatch = {
  [M in Prisma.ModelName]: M extends PgPrisma.ModelName
    ? [PgModels[M]['payload']['scalars'], SqliteModels[M]['payload']['scalars']] extends [
        SqliteModels[M]['payload']['scalars'],
        PgModels[M]['payload']['scalars'],
      ]
      ? {
          [O in CheckedOps]: SqliteModels[M]['operations'][O]['args'] extends PgModels[M]['operations'][O]['args']
            ? never
            : `${M}.${O}`;
        }[CheckedOps]
      : `${M} rows`
    : `${M} missing`;
}[Prisma.ModelName];
const pgClientStandsInForDb: [ModelMismatch] extends [never] ? true : ModelMismatch = true;
void pgClientStandsInForDb;

/** Run on every new connection: synchronous and foreign_keys are per-connection settings. */
const CONNECTION_PRAGMAS = 'PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;';

export interface OpenDatabaseOptions extends MigrateOptions {
  /** Apply pending migrations first (default true). A helper process whose parent already migrated may skip it. */
  migrate?: boolean;
  /** SQLite: how long a writer waits for another process's lock before failing, in ms (default 5000). */
  busyTimeoutMs?: number;
  /** PostgreSQL: most connections this client opens at once (default 10, pg's default). */
  poolSize?: number;
}

const providers = new WeakMap<object, Provider>();

/** Which provider a client opened by openDatabase talks to (for the rare raw SQL that differs). */
export function providerOf(db: Db): Provider {
  return providers.get(db) ?? 'sqlite';
}

/**
 * Opens the database at `url` (default DATABASE_URL), applies pending migrations, and returns a
 * connected client. `file:` URLs: SQLite, created if needed; relative paths resolve against
 * `opts.cwd` or process.cwd(). `postgres(ql)://` URLs: PostgreSQL; the database must exist (the
 * error says how to create it). Connection problems throw one-line DatabaseConnectionError messages
 * that never contain the password; other schemes throw UnsupportedDatabaseError.
 */
export async function openDatabase(url: string = config().DATABASE_URL, opts: OpenDatabaseOptions = {}): Promise<Db> {
  const target = parseDatabaseUrl(url, opts.cwd);
  const opened =
    target.provider === 'postgresql' ? await openPostgres(target, opts) : await openSqlite(target.dbPath, opts);
  const health = new StorageHealth(
    log().child({ module: 'db' }),
    target.provider === 'sqlite' ? target.dbPath : undefined,
    target.display,
  );
  const db = guardWrites(opened, health);
  providers.set(db, target.provider);
  healths.set(db, health);
  return db;
}

const healths = new WeakMap<object, StorageHealth>();

/** The storage state of a client opened by openDatabase (full disk, database file replaced). */
export function storageHealth(db: Db): StorageHealth | undefined {
  return healths.get(db);
}

/** Operations that write; reads keep working from a full disk (and from a replaced file's old copy). */
const WRITE_OPERATIONS = new Set([
  'create',
  'createMany',
  'createManyAndReturn',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'upsert',
  'delete',
  'deleteMany',
  '$executeRaw',
  '$executeRawUnsafe',
]);

const GROWING_OPERATIONS = new Set(['create', 'createMany', 'createManyAndReturn', 'upsert']);

/** Every write goes through `health`: refused when the file was replaced, storage faults recognised and logged once. */
function guardWrites(db: Db, health: StorageHealth): Db {
  return db.$extends({
    query: {
      async $allOperations({ operation, args, query }) {
        if (!WRITE_OPERATIONS.has(operation)) return query(args);
        health.beforeWrite();
        try {
          const result = await query(args);
          // Only a write that adds rows proves there is space again (an in-place update may fit on a full disk).
          if (GROWING_OPERATIONS.has(operation)) health.afterSuccess();
          return result;
        } catch (err) {
          throw health.afterFailure(err);
        }
      },
    },
  }) as unknown as Db;
}

async function openSqlite(dbPath: string, opts: OpenDatabaseOptions): Promise<Db> {
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

async function openPostgres(target: PgTarget, opts: OpenDatabaseOptions): Promise<Db> {
  protectPassword(target);
  if (opts.migrate !== false) await migrate(target.url, opts);
  else await (await connectPg(target)).end(); // same one-line errors as the migrating path
  // Loaded on demand: a SQLite-only bot never pays for the second generated client.
  const { PrismaClient: PgPrismaClient } = await import('./generated-pg/client.ts');
  const logger = log().child({ module: 'db' });
  const adapter = new PrismaPg(pgConfig(target, { max: opts.poolSize ?? 10 }), {
    onPoolError: (err) => logger.warn({ err }, 'PostgreSQL dropped an idle connection; the next query reconnects'),
  });
  // Sound by the compile-time check above: every call a repository can type against Db, PG accepts.
  const db = new PgPrismaClient({ adapter }) as unknown as Db;
  try {
    await db.$queryRawUnsafe('SELECT 1');
  } catch (e) {
    await db.$disconnect().catch(() => undefined);
    throw describePgError((e as { cause?: unknown })?.cause ?? e, target);
  }
  logger.debug({ database: target.display }, 'database open');
  return db;
}
