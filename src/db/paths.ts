/**
 * Where the data layer's files live, and what a DATABASE_URL points to: a SQLite file (`file:`) or
 * a PostgreSQL database (`postgres://` / `postgresql://`). Kept free of heavy imports so the
 * migrator and the CLIs can use it cheaply.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (the folder holding package.json and prisma/), independent of process.cwd(). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCHEMA_PATH = path.join(PROJECT_ROOT, 'prisma', 'schema.prisma');
export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'prisma', 'migrations');
/** PostgreSQL's twin schema (derived from SCHEMA_PATH by scripts/pg-schema.mjs) and its own history. */
export const PG_SCHEMA_PATH = path.join(PROJECT_ROOT, 'prisma', 'postgresql', 'schema.prisma');
export const PG_MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'prisma', 'postgresql', 'migrations');

export type Provider = 'sqlite' | 'postgresql';

/** What a DATABASE_URL points to. `display` is safe to print: it never contains the password. */
export type DatabaseTarget =
  | { provider: 'sqlite'; dbPath: string; display: string }
  | {
      provider: 'postgresql';
      url: string;
      display: string;
      host: string;
      port: number;
      user: string;
      database: string;
      password: string;
    };

const PG_SCHEME = /^postgres(ql)?:\/\//i;

/** True for a postgres:// or postgresql:// URL. */
export function isPostgresUrl(url: string): boolean {
  return PG_SCHEME.test(url);
}

/** Default migrations folder and schema of a provider. */
export function providerPaths(provider: Provider): { migrationsDir: string; schemaPath: string } {
  return provider === 'postgresql'
    ? { migrationsDir: PG_MIGRATIONS_DIR, schemaPath: PG_SCHEMA_PATH }
    : { migrationsDir: MIGRATIONS_DIR, schemaPath: SCHEMA_PATH };
}

/** A PostgreSQL URL with its password replaced by `***` (for messages and logs). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)[^@/?#]*@/i, '$1***@');
}

/**
 * Parses a DATABASE_URL: `file:` -> SQLite (see sqlitePathFromUrl), `postgres(ql)://` -> PostgreSQL.
 * Anything else throws UnsupportedDatabaseError naming only the scheme (the rest may hold a secret).
 */
export function parseDatabaseUrl(url: string, cwd: string = process.cwd()): DatabaseTarget {
  if (isPostgresUrl(url)) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new UnsupportedDatabaseError(
        'DATABASE_URL is not a valid PostgreSQL URL: use postgresql://USER:PASSWORD@HOST:5432/DATABASE ' +
          '(percent-encode special characters in the password, e.g. @ as %40)',
      );
    }
    const user = decodeURIComponent(u.username) || process.env.PGUSER || process.env.USER || 'postgres';
    const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || user;
    const host = u.hostname.replace(/^\[|\]$/g, '') || 'localhost';
    const port = Number(u.port || 5432);
    return {
      provider: 'postgresql',
      url,
      display: `postgresql://${encodeURIComponent(user)}@${u.host || host}/${encodeURIComponent(database)}`,
      host,
      port,
      user,
      database,
      password: decodeURIComponent(u.password),
    };
  }
  const dbPath = sqlitePathFromUrl(url, cwd);
  return { provider: 'sqlite', dbPath, display: displayPath(dbPath) };
}

export class UnsupportedDatabaseError extends Error {
  override name = 'UnsupportedDatabaseError';
}

/**
 * Turns a `file:` DATABASE_URL into an absolute SQLite file path.
 * Relative paths (`file:./data/shoebot.db`, `file:data/shoebot.db`) resolve against `cwd`
 * (default process.cwd()): the Prisma 7 CLI runs its engine in the folder of prisma.config.ts,
 * which is the project root, so both agree when commands run from the root as documented.
 * A `?query` suffix (e.g. `?connection_limit=1`, meaningful to other drivers) is ignored.
 */
export function sqlitePathFromUrl(url: string, cwd: string = process.cwd()): string {
  if (isPostgresUrl(url)) {
    throw new UnsupportedDatabaseError('Expected a SQLite file: URL here, got a PostgreSQL URL');
  }
  if (!url.startsWith('file:')) {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
    throw new UnsupportedDatabaseError(
      `DATABASE_URL must be a SQLite file URL (file:./data/shoebot.db) or a PostgreSQL URL ` +
        `(postgresql://USER:PASSWORD@HOST:5432/DATABASE); ${scheme ? `"${scheme}:" is not supported` : 'got no URL scheme'}`,
    );
  }
  let rest = url.slice('file:'.length);
  const q = rest.indexOf('?');
  if (q >= 0) rest = rest.slice(0, q);
  // file:///abs/path and file://localhost/abs/path are the URL forms of an absolute path.
  if (rest.startsWith('//')) rest = fileURLToPath(`file:${rest}`);
  else rest = decodeURIComponent(rest);
  if (!rest || rest === ':memory:') {
    throw new UnsupportedDatabaseError('DATABASE_URL must name a SQLite file (in-memory databases are not supported)');
  }
  return path.resolve(cwd, rest);
}

/** A path relative to the working folder when it is inside it, else absolute (for messages). */
export function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') ? rel : p;
}
