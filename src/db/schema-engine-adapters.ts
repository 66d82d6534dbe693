/**
 * The driver adapters the schema engine connects through: better-sqlite3 for a SQLite file and pg
 * for PostgreSQL (with a scratch shadow database of our own), each connection patched so that the
 * engine's ways of calling it work on these drivers and its errors stay readable, and all of them
 * tracked so that one call closes every connection the engine opened.
 */
import crypto from 'node:crypto';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import {
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQuery,
} from '@prisma/driver-adapter-utils';
import { MigrationError } from './migration-error.ts';
import type { Provider } from './paths.ts';
import { connectPg, describePgError, pgConfig, quoteIdent, urlWithDatabase, type PgTarget } from './pg.ts';

/**
 * Dates in `_prisma_migrations` (and in our tables) are stored as Unix milliseconds, the format
 * Prisma's native engines use for SQLite; the adapter's default (ISO text) would make the rows
 * differ from those `prisma migrate deploy` writes.
 */
export const TIMESTAMP_FORMAT = 'unixepoch-ms' as const;

/** How long the migrator waits for another process's lock (e.g. a second bot starting). */
const BUSY_TIMEOUT_MS = 15_000;

/** Where an engine connects: a SQLite file (or ':memory:'), or a PostgreSQL database. */
export type EngineTarget = { provider: 'sqlite'; dbPath: string } | PgTarget;

/** better-sqlite3's `prepare` accepts exactly one statement: not two, and not a comment alone. */
function isNotOneStatementError(e: unknown): boolean {
  return e instanceof Error && /more than one statement|contains no statements/i.test(e.message);
}

/**
 * Wraps a freshly opened adapter. The engine replays whole migration scripts through `executeRaw`
 * when it builds a shadow database, which better-sqlite3 refuses for multi-statement (or
 * comment-only) SQL: those go to `executeScript` instead. Plain JS errors (not driver errors) reach
 * the engine only as "External error id#N", so the last one is kept for the error message.
 */
function patchAdapter(adapter: SqlDriverAdapter, provider: Provider, onJsError: (e: Error) => void): SqlDriverAdapter {
  const executeRaw = adapter.executeRaw.bind(adapter);
  const queryRaw = adapter.queryRaw.bind(adapter);
  const executeScript = adapter.executeScript.bind(adapter);
  const note = (e: unknown): never => {
    if (provider === 'sqlite' && e instanceof DriverAdapterError && e.cause.kind === 'SocketTimeout') {
      // The adapter reports SQLITE_BUSY as SocketTimeout, a kind this engine build cannot decode.
      throw new DriverAdapterError({
        kind: 'sqlite',
        extendedCode: 1, // not 5 (BUSY): the engine would turn that back into a vague "socket timeout"
        message: `database is locked: another process kept it busy for over ${BUSY_TIMEOUT_MS / 1000} s`,
      });
    }
    if (e instanceof Error && e.name !== 'DriverAdapterError') onJsError(e);
    throw e;
  };
  adapter.executeRaw = async (query: SqlQuery) => {
    try {
      return await executeRaw(query);
    } catch (e) {
      if (provider !== 'sqlite' || !isNotOneStatementError(e) || query.args.length > 0) return note(e);
      await executeScript(query.sql).catch(note);
      return 0;
    }
  };
  adapter.queryRaw = (query: SqlQuery) => queryRaw(query).catch(note);
  adapter.executeScript = (script: string) => executeScript(script).catch(note);
  return adapter;
}

/**
 * PostgreSQL's internal single-byte type `"char"` and a few other catalog types (pg_constraint.contype,
 * pg_class.relkind, ...) appear in the schema engine's introspection queries; the pg adapter refuses
 * to map them ("Column type 'char' could not be deserialized"). pg returns their values as strings,
 * so the engine's connections report them as text.
 */
const CATALOG_TEXT_OIDS = new Set([
  18 /* "char" */, 22 /* int2vector */, 24 /* regproc */, 30 /* oidvector */, 194 /* pg_node_tree */,
  2205 /* regclass */, 2206 /* regtype */,
]);

function catalogTypesAsText(result: unknown): unknown {
  for (const r of Array.isArray(result) ? result : [result]) {
    for (const f of (r as { fields?: { dataTypeID: number }[] } | undefined)?.fields ?? []) {
      if (CATALOG_TEXT_OIDS.has(f.dataTypeID)) f.dataTypeID = 25; // text
    }
  }
  return result;
}

/** pg.Client whose results report catalog types as text (pg-pool calls query with a callback). */
class EngineClient extends pg.Client {
  override query(...args: unknown[]): never {
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = (err: unknown, res: unknown) =>
        (last as (e: unknown, r: unknown) => void)(err, err ? res : catalogTypesAsText(res));
      return (super.query as (...a: unknown[]) => never)(...args);
    }
    const out = (super.query as (...a: unknown[]) => unknown)(...args);
    return (out instanceof Promise ? out.then(catalogTypesAsText) : out) as never;
  }
}

function enginePool(target: PgTarget): pg.Pool {
  const pool = new pg.Pool({
    ...pgConfig(target, { max: 1, application_name: 'shoebot-migrate' }),
    Client: EngineClient,
  });
  pool.on('error', () => undefined); // an idle connection dropped by the server; the next query reports it
  return pool;
}

type Track = (p: Promise<SqlDriverAdapter>) => Promise<SqlDriverAdapter>;

/**
 * A migration-aware factory over the pg adapter. Each connection is a pool of ONE client, so the
 * engine's session state (its advisory lock, search_path) stays on one session. The shadow
 * database is ours rather than the adapter's: its connectToShadowDb drops the database while its
 * pool is still connected and never closes the pool it created it from.
 */
function pgEngineFactory(target: PgTarget, track: Track): SqlMigrationAwareDriverAdapterFactory {
  const info = new PrismaPg({});
  return {
    provider: info.provider,
    adapterName: info.adapterName,
    connect: () =>
      track(
        new PrismaPg(enginePool(target), { disposeExternalPool: true })
          .connect()
          .catch((e: unknown) => Promise.reject(describePgError(e, target))),
      ),
    connectToShadowDb: () => track(pgShadowDb(target)),
  };
}

/** A connection to a new scratch database on `target`'s server, dropped when the connection is disposed. */
async function pgShadowDb(target: PgTarget): Promise<SqlDriverAdapter> {
  const name = `shoebot_shadow_${crypto.randomBytes(6).toString('hex')}`;
  const admin = await connectPg(target, { application_name: 'shoebot-migrate' });
  await admin.query(`CREATE DATABASE ${quoteIdent(name)}`).catch(async (e: unknown) => {
    await admin.end().catch(() => undefined);
    throw new MigrationError(
      `Creating a scratch (shadow) database on ${target.host}:${target.port} failed: ${(e as Error).message} ` +
        '(the role needs CREATEDB to diff migrations)',
    );
  });
  const shadow = new PrismaPg(enginePool({ ...target, url: urlWithDatabase(target.url, name) }), {
    disposeExternalPool: true,
  });
  const adapter = await shadow.connect();
  const dispose = adapter.dispose.bind(adapter);
  adapter.dispose = async () => {
    await dispose().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).catch(() => undefined);
    await admin.end().catch(() => undefined);
  };
  return adapter;
}

/** The better-sqlite3 adapter's own factory (its shadow database is in memory), with our busy timeout and dates. */
function sqliteEngineFactory(dbPath: string, track: Track): SqlMigrationAwareDriverAdapterFactory {
  const inner = new PrismaBetterSqlite3(
    { url: dbPath, timeout: BUSY_TIMEOUT_MS },
    { timestampFormat: TIMESTAMP_FORMAT },
  );
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    connect: () => track(inner.connect()),
    connectToShadowDb: () => track(inner.connectToShadowDb()),
  };
}

/** The connections of one engine run: their factory, the last plain JS error they saw, and closing them. */
export interface EngineConnections {
  factory: SqlMigrationAwareDriverAdapterFactory;
  /** The last error that reached the engine only as "External error id#N". */
  lastJsError(): Error | undefined;
  /** Disposes every connection opened so far (errors ignored). */
  closeAll(): Promise<void>;
}

/** A factory for `target` whose every connection is patched (patchAdapter) and remembered for closeAll(). */
export function engineConnections(target: EngineTarget): EngineConnections {
  const opened: SqlDriverAdapter[] = [];
  let lastJsError: Error | undefined;
  const track: Track = async (p) => {
    const a = patchAdapter(await p, target.provider, (e) => (lastJsError = e));
    opened.push(a);
    return a;
  };
  return {
    factory:
      target.provider === 'postgresql' ? pgEngineFactory(target, track) : sqliteEngineFactory(target.dbPath, track),
    lastJsError: () => lastJsError,
    closeAll: async () => {
      for (const a of opened) await a.dispose().catch(() => undefined);
    },
  };
}
