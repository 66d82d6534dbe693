/**
 * Where the data layer's files live, and how a DATABASE_URL becomes a SQLite file path.
 * Kept free of heavy imports so the migrator and the CLIs can use it cheaply.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (the folder holding package.json and prisma/), independent of process.cwd(). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCHEMA_PATH = path.join(PROJECT_ROOT, 'prisma', 'schema.prisma');
export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'prisma', 'migrations');

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
  if (/^postgres(ql)?:\/\//i.test(url)) {
    throw new UnsupportedDatabaseError(
      'DATABASE_URL points to PostgreSQL, but PostgreSQL support is not available yet: ' +
        'use a SQLite file URL such as file:./data/shoebot.db',
    );
  }
  if (!url.startsWith('file:')) {
    throw new UnsupportedDatabaseError(
      'DATABASE_URL must be a SQLite file URL such as file:./data/shoebot.db (got a URL with another scheme)',
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
