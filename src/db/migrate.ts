/**
 * Applies and creates Prisma migrations with no native engine: Prisma's schema engine compiled to
 * WebAssembly (@prisma/schema-engine-wasm, same engine commit as @prisma/client 7.10.0) talks to
 * SQLite through the better-sqlite3 driver adapter and to PostgreSQL through the pg adapter. Each
 * provider has its own schema and history (prisma/migrations, prisma/postgresql/migrations).
 * `_prisma_migrations` is written by the engine itself, so its rows are the ones
 * `prisma migrate deploy` writes, and an operator can switch to the ordinary Prisma CLI on the same
 * database and migration folder at any time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import {
  bindMigrationAwareSqlAdapterFactory,
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQuery,
} from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine, SchemaFilter } from '@prisma/schema-engine-wasm';
import { log } from '../log.ts';
import { parseDatabaseUrl, providerPaths, type Provider } from './paths.ts';
import { connectPg, describePgError, LOCKS, pgConfig, quoteIdent, urlWithDatabase, withPgAdvisoryLock, type PgTarget } from './pg.ts';

type EngineModule = typeof import('@prisma/schema-engine-wasm');

/** A migration problem worth showing to an operator as is (no stack trace needed). */
export class MigrationError extends Error {
  override name = 'MigrationError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

const NO_FILTER: SchemaFilter = { externalTables: [], externalEnums: [] };

/**
 * Dates in `_prisma_migrations` (and in our tables) are stored as Unix milliseconds, the format
 * Prisma's native engines use for SQLite; the adapter's default (ISO text) would make the rows
 * differ from those `prisma migrate deploy` writes.
 */
export const TIMESTAMP_FORMAT = 'unixepoch-ms' as const;

/** How long the migrator waits for another process's lock (e.g. a second bot starting). */
const BUSY_TIMEOUT_MS = 15_000;

let engineModule: Promise<EngineModule> | undefined;

// Node has WebAssembly, but this project's TypeScript lib (ES2023, no DOM) does not declare it.
const wasmApi = (
  globalThis as unknown as {
    WebAssembly: {
      instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
    };
  }
).WebAssembly;

/**
 * Loads the schema engine's WebAssembly once per process. Node 20 cannot `import` a .wasm file
 * (which the package's entry point does), so we instantiate it by hand with the package's
 * wasm-bindgen glue as the import object, as the generated entry point would.
 */
function loadEngine(): Promise<EngineModule> {
  engineModule ??= (async () => {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('@prisma/schema-engine-wasm');
    const glue = (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as EngineModule & {
      __wbg_set_wasm(exports: Record<string, unknown>): void;
    };
    const bytes = await fs.promises.readFile(path.join(path.dirname(entry), 'schema_engine_bg.wasm'));
    const { instance } = await wasmApi.instantiate(bytes, { './schema_engine_bg.js': glue });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return glue;
  })();
  engineModule.catch(() => (engineModule = undefined));
  return engineModule;
}

// The engine reports Rust panics through this global; without it a panic surfaces as a bare
// "unreachable" with no hint of what went wrong.
const panicRegistry = ((globalThis as Record<string, unknown>).PRISMA_WASM_PANIC_REGISTRY ??= {
  message: '',
  set_message(this: { message: string }, m: string) {
    this.message = m;
  },
}) as { message?: string };

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

/** Where an engine connects: a SQLite file (or ':memory:'), or a PostgreSQL database. */
type EngineTarget = { provider: 'sqlite'; dbPath: string } | PgTarget;

let engineQueue: Promise<unknown> = Promise.resolve();

/**
 * One engine at a time per process: better-sqlite3 waits for a lock synchronously (busy_timeout),
 * so two engines of one process contending for the same file would block the very event loop the
 * lock holder needs to finish, and fail after the timeout. Other processes simply wait their turn.
 */
function withEngine<T>(
  target: EngineTarget,
  schema: { path: string; content: string } | undefined,
  fn: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const run = engineQueue.then(() => runEngine(target, schema, fn));
  engineQueue = run.catch(() => undefined);
  return run;
}

/**
 * PostgreSQL's internal single-byte type `"char"` and a few other catalog types (pg_constraint.contype,
 * pg_class.relkind, ...) appear in the schema engine's introspection queries; the pg adapter refuses
 * to map them ("Column type 'char' could not be deserialized"). pg returns their values as strings,
 * so the engine's connections report them as text.
 */
const CATALOG_TEXT_OIDS = new Set([18 /* "char" */, 22 /* int2vector */, 24 /* regproc */, 30 /* oidvector */, 194 /* pg_node_tree */, 2205 /* regclass */, 2206 /* regtype */]);

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
      args[args.length - 1] = (err: unknown, res: unknown) => (last as (e: unknown, r: unknown) => void)(err, err ? res : catalogTypesAsText(res));
      return (super.query as (...a: unknown[]) => never)(...args);
    }
    const out = (super.query as (...a: unknown[]) => unknown)(...args);
    return (out instanceof Promise ? out.then(catalogTypesAsText) : out) as never;
  }
}

function enginePool(target: PgTarget): pg.Pool {
  const pool = new pg.Pool({ ...pgConfig(target, { max: 1, application_name: 'shoebot-migrate' }), Client: EngineClient });
  pool.on('error', () => undefined); // an idle connection dropped by the server; the next query reports it
  return pool;
}

/**
 * A migration-aware factory over the pg adapter. Each connection is a pool of ONE client, so the
 * engine's session state (its advisory lock, search_path) stays on one session. The shadow
 * database is ours rather than the adapter's: its connectToShadowDb drops the database while its
 * pool is still connected and never closes the pool it created it from.
 */
function pgEngineFactory(
  target: PgTarget,
  track: (p: Promise<SqlDriverAdapter>) => Promise<SqlDriverAdapter>,
): SqlMigrationAwareDriverAdapterFactory {
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
    connectToShadowDb: () =>
      track(
        (async () => {
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
        })(),
      ),
  };
}

/**
 * Runs `fn` with a schema engine connected to `target`, then frees the engine and closes every
 * connection it opened. Closing matters: the engine switches SQLite to `locking_mode=EXCLUSIVE`, so
 * a connection left open would lock every other reader and writer out; on PostgreSQL the engine's
 * advisory lock lives as long as its session.
 */
async function runEngine<T>(
  target: EngineTarget,
  schema: { path: string; content: string } | undefined,
  fn: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const mod = await loadEngine();
  const opened: SqlDriverAdapter[] = [];
  let lastJsError: Error | undefined;
  const track = async (p: Promise<SqlDriverAdapter>) => {
    const a = patchAdapter(await p, target.provider, (e) => (lastJsError = e));
    opened.push(a);
    return a;
  };
  let factory: SqlMigrationAwareDriverAdapterFactory;
  if (target.provider === 'postgresql') {
    factory = pgEngineFactory(target, track);
  } else {
    const inner = new PrismaBetterSqlite3({ url: target.dbPath, timeout: BUSY_TIMEOUT_MS }, { timestampFormat: TIMESTAMP_FORMAT });
    factory = {
      provider: inner.provider,
      adapterName: inner.adapterName,
      connect: () => track(inner.connect()),
      connectToShadowDb: () => track(inner.connectToShadowDb()),
    };
  }
  const logger = log().child({ module: 'db.migrate' });
  const onLog = (line: string) => {
    try {
      const entry = JSON.parse(line) as { level?: string; fields?: { message?: string } };
      logger.debug({ engine: entry.fields }, entry.fields?.message ?? 'schema engine');
    } catch {
      logger.debug({ engine: line }, 'schema engine');
    }
  };
  let engine: SchemaEngine | undefined;
  try {
    engine = await mod.SchemaEngine.new(
      { datamodels: schema ? [[schema.path, schema.content]] : undefined },
      onLog,
      bindMigrationAwareSqlAdapterFactory(factory),
    );
    return await fn(engine);
  } catch (e) {
    // After a Rust panic no call into this instance is safe: the next one gets a fresh instance.
    if (e instanceof Error && /unreachable/.test(e.message)) engineModule = undefined;
    const err = toMigrationError(e);
    if (lastJsError && /External error id#/.test(err.message)) err.message += ` (${lastJsError.message})`;
    throw err;
  } finally {
    try {
      engine?.free();
    } catch {
      // A panicked engine may refuse to free; the connections below are what matter.
    }
    for (const a of opened) await a.dispose().catch(() => undefined);
  }
}

/** Strips the engine's span trace ("   0: sql_schema_connector::...") from an error message. */
function engineMessage(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  if (/unreachable/.test(raw) && panicRegistry.message) return `schema engine panicked: ${panicRegistry.message}`;
  // One line for the operator: the engine puts the driver's message on a line of its own.
  return raw.split(/\n\s+0: /)[0].trim().replace(/\s*\n\s*/g, ': ');
}

function toMigrationError(e: unknown): MigrationError {
  if (e instanceof MigrationError) return e;
  const code = (e as { code?: unknown })?.code;
  return new MigrationError(engineMessage(e), typeof code === 'string' ? code : undefined);
}

/** Reads a migrations folder the way the Prisma CLI does (sorted folder names, migration.sql). */
export async function readMigrations(migrationsDir: string, shadowDbInitScript = ''): Promise<MigrationList> {
  const lockPath = 'migration_lock.toml';
  const lockContent = await fs.promises.readFile(path.join(migrationsDir, lockPath), 'utf8').catch(() => null);
  const entries = await fs.promises.readdir(migrationsDir, { withFileTypes: true }).catch(() => []);
  const migrationDirectories: MigrationList['migrationDirectories'] = [];
  for (const d of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const file = 'migration.sql';
    const content = await fs.promises
      .readFile(path.join(migrationsDir, d.name, file), 'utf8')
      .then((value) => ({ tag: 'ok' as const, value }))
      .catch((err: Error) => ({ tag: 'error' as const, value: err.message }));
    migrationDirectories.push({ path: d.name, migrationFile: { path: file, content } });
  }
  return {
    baseDir: migrationsDir,
    lockfile: { path: lockPath, content: lockContent },
    shadowDbInitScript,
    migrationDirectories,
  };
}

function readSchema(schemaPath: string): { path: string; content: string } | undefined {
  try {
    return { path: schemaPath, content: fs.readFileSync(schemaPath, 'utf8') };
  } catch {
    return undefined;
  }
}

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

async function migrateTarget(target: EngineTarget & { display: string }, opts: MigrateOptions): Promise<MigrateResult> {
  const defaults = providerPaths(target.provider);
  const dbPath = target.provider === 'sqlite' ? target.dbPath : target.display;
  const migrationsDir = opts.migrationsDir ?? defaults.migrationsDir;
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
  const logger = log().child({ module: 'db.migrate' });

  return withEngine(target, readSchema(opts.schemaPath ?? defaults.schemaPath), async (engine) => {
    let diagnosis: Awaited<ReturnType<SchemaEngine['diagnoseMigrationHistory']>> | undefined;
    try {
      diagnosis = await engine.diagnoseMigrationHistory({
        migrationsList: list,
        optInToShadowDatabase: false,
        filters: NO_FILTER,
      });
    } catch (e) {
      // P1014: no `_prisma_migrations` table yet, i.e. a fresh database; applyMigrations creates it.
      if ((e as { code?: string }).code !== 'P1014') throw e;
    }
    if (diagnosis) {
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

/** applyMigrations, with the failing migration's name added to the engine's bare SQL error. */
async function applyNamingFailures(
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
    let d: Awaited<ReturnType<SchemaEngine['diagnoseMigrationHistory']>>;
    try {
      d = await engine.diagnoseMigrationHistory({ migrationsList: list, optInToShadowDatabase: false, filters: NO_FILTER });
    } catch (e) {
      // P1014: no `_prisma_migrations` table, i.e. nothing applied yet.
      if ((e as { code?: string }).code !== 'P1014') throw e;
      return { ...base, pending: names, edited: [], failed: [], unknown: [] };
    }
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

const LOCKFILE_HEADER =
  '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\n';

/** Turns a free-form name into the CLI's style: lower case, words joined by underscores. */
export function migrationSlug(name: string): string {
  const slug = name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 200);
  if (!slug) throw new MigrationError('A migration name needs at least one letter or digit, e.g. --name add_blends');
  return slug;
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

  if (provider === 'sqlite') return diffAndWrite({ provider: 'sqlite', dbPath: ':memory:' }, schema, list, migrationName, migrationsDir, opts);
  if (!opts.serverUrl) throw new MigrationError('Creating a PostgreSQL migration needs a server to diff on (serverUrl)');
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
  schema: { path: string; content: string },
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
    const dir = path.join(migrationsDir, out.generatedMigrationName);
    if (fs.existsSync(dir)) throw new MigrationError(`The migration directory already exists at ${dir}`);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `migration.${out.extension}`);
    fs.writeFileSync(file, out.migrationScript, 'utf8');
    fs.writeFileSync(
      path.join(migrationsDir, list.lockfile.path),
      `${LOCKFILE_HEADER}provider = "${out.connectorType}"\n`,
      'utf8',
    );
    return { name: out.generatedMigrationName, file, script: out.migrationScript };
  });
}
