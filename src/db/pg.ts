/**
 * PostgreSQL plumbing shared by the client, the migrator and the CLIs: connecting with one-line
 * errors an operator can act on (server unreachable, wrong password, database missing), advisory
 * locks, and database creation. Messages name the server and database, never the password.
 */
import crypto from 'node:crypto';
import pg from 'pg';
import { registerSecret } from '../log.ts';
import type { DatabaseTarget } from './paths.ts';

export type PgTarget = Extract<DatabaseTarget, { provider: 'postgresql' }>;

/** A PostgreSQL problem worth showing to an operator as is: one line, no stack trace, no password. */
export class DatabaseConnectionError extends Error {
  override name = 'DatabaseConnectionError';
  /**
   * @param reason the driver's code (ECONNREFUSED, 28P01, 3D000, ...). Deliberately not `code`:
   * start-up code reads `err.code` ECONNREFUSED as "cannot reach Discord".
   */
  constructor(
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/** How long a connection attempt may take before we call the server unreachable. */
const CONNECT_TIMEOUT_MS = 10_000;

/** The URL of another database on the same server, same credentials and options. */
export function urlWithDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** Quotes an identifier for SQL (database names come from URLs and may hold anything). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Keeps the password out of every log line from now on (src/log.ts scrubs registered secrets). */
export function protectPassword(target: PgTarget): void {
  registerSecret(target.password);
  registerSecret(encodeURIComponent(target.password));
}

/**
 * pg's connection settings for a target (the URL carries sslmode and friends). Sessions run in UTC:
 * the driver adapter sends dates as UTC text without an offset, which a `timestamptz` column (such
 * as `_prisma_migrations.started_at`) would otherwise read in the server's time zone.
 */
export function pgConfig(target: PgTarget, extra: pg.PoolConfig = {}): pg.PoolConfig {
  return {
    connectionString: target.url,
    application_name: 'shoebot',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    options: '-c TimeZone=UTC',
    ...extra,
  };
}

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * Turns a connection failure into one line that says what to do. Unknown errors are returned
 * unchanged. `target.database` is the database the connection was for.
 */
export function describePgError(e: unknown, target: PgTarget): unknown {
  const err = e as { code?: string; message?: string; errors?: { code?: string }[] };
  const code = err?.code ?? err?.errors?.[0]?.code; // AggregateError when every address failed
  const server = `${target.host}:${target.port}`;
  const db = shellQuote(target.database);
  const user = shellQuote(target.user);
  switch (code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ECONNRESET':
      return new DatabaseConnectionError(
        `Cannot reach PostgreSQL at ${server} (${code}): is the server running and listening there? ` +
          `(Debian: \`systemctl status postgresql\`; check listen_addresses/port in postgresql.conf)`,
        code,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new DatabaseConnectionError(
        `Cannot resolve the PostgreSQL host "${target.host}" (${code}): check the host in DATABASE_URL`,
        code,
      );
    case '28P01':
      return new DatabaseConnectionError(
        `PostgreSQL at ${server} refused the password for user "${target.user}": check the password in DATABASE_URL ` +
          `(percent-encode special characters, e.g. @ as %40), or set it: sudo -u postgres psql -c "ALTER ROLE ${target.user.replace(/"/g, '')} PASSWORD '...'"`,
        code,
      );
    case '28000':
      return new DatabaseConnectionError(
        `PostgreSQL at ${server} did not let user "${target.user}" in: ${firstLine(err.message)} ` +
          `(create the role with \`sudo -u postgres createuser --pwprompt ${user}\`, or allow the host in pg_hba.conf)`,
        code,
      );
    case '3D000':
      return new DatabaseConnectionError(
        `Database "${target.database}" does not exist on ${server}. Create it with ` +
          `\`sudo -u postgres createdb -O ${user} ${db}\` on the server (or \`createdb -h ${target.host} -p ${target.port} -U ${user} ${db}\`), ` +
          'or run `npm run db:deploy -- --create-db` if the role may create databases',
        code,
      );
    case '53300':
      return new DatabaseConnectionError(
        `PostgreSQL at ${server} has no free connection slots (too many clients): raise max_connections or stop idle clients`,
        code,
      );
    case '57P03':
      return new DatabaseConnectionError(
        `PostgreSQL at ${server} is starting up or shutting down; try again in a moment`,
        code,
      );
    default:
      if (/timeout/i.test(err?.message ?? '')) {
        return new DatabaseConnectionError(
          `No answer from PostgreSQL at ${server} within ${CONNECT_TIMEOUT_MS / 1000} s: check the host and port, and any firewall in between`,
          'ETIMEDOUT',
        );
      }
      if (/SSL|TLS|certificate/i.test(err?.message ?? '')) {
        return new DatabaseConnectionError(
          `TLS problem talking to PostgreSQL at ${server}: ${firstLine(err.message)} (see sslmode in DATABASE_URL)`,
          code,
        );
      }
      return e;
  }
}

function firstLine(s: string | undefined): string {
  return (s ?? '').split('\n')[0].trim();
}

/** Opens one pg.Client, translating connection failures with describePgError. */
export async function connectPg(target: PgTarget, extra: pg.ClientConfig = {}): Promise<pg.Client> {
  protectPassword(target);
  const client = new pg.Client(pgConfig(target, extra));
  client.on('error', () => undefined); // a dropped idle connection must not crash the process
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    throw describePgError(e, target);
  }
  return client;
}

/** Advisory lock keys of shoebot: (class, object) pairs in PostgreSQL's two-int key space. */
export const LOCK_CLASS = 0x73686f65; // "shoe"
export const LOCKS = {
  /** Held while migrations are applied (on top of the schema engine's own lock). */
  migrate: 1,
} as const;

/** A stable object id for a free-form lock name (for withAdvisoryLock callers). */
export function lockId(name: string): number {
  return crypto.createHash('sha256').update(name).digest().readInt32BE(0);
}

/**
 * Runs `fn` while holding a session-level PostgreSQL advisory lock (LOCK_CLASS, id) on a dedicated
 * connection: other processes calling this with the same id wait (up to `timeoutMs`, default 120 s)
 * until `fn` settles. The lock dies with the connection, so a crashed holder never leaves it stuck.
 */
export async function withPgAdvisoryLock<T>(
  target: PgTarget,
  id: number,
  fn: () => Promise<T>,
  opts: { timeoutMs?: number } = {},
): Promise<T> {
  const client = await connectPg(target, { application_name: 'shoebot-lock' });
  try {
    await client.query(`SET lock_timeout = ${Math.max(1, Math.round(opts.timeoutMs ?? 120_000))}`);
    try {
      await client.query('SELECT pg_advisory_lock($1, $2)', [LOCK_CLASS, id]);
    } catch (e) {
      if ((e as { code?: string }).code === '55P03') {
        throw new DatabaseConnectionError(
          `Another process held shoebot's lock ${id} on ${target.display} for over ${Math.round((opts.timeoutMs ?? 120_000) / 1000)} s`,
          '55P03',
        );
      }
      throw e;
    }
    return await fn();
  } finally {
    // Closing the session releases the lock even if the unlock query cannot run.
    await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, id]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

/**
 * Creates the target's database if it does not exist (connecting to the maintenance database
 * `postgres` with the same credentials; the role needs CREATEDB). Returns true when it created it.
 */
export async function ensurePgDatabase(target: PgTarget): Promise<boolean> {
  const probe = await connectPg(target).catch((e: unknown) => e);
  if (probe instanceof pg.Client) {
    await probe.end();
    return false;
  }
  if (!(probe instanceof DatabaseConnectionError) || probe.reason !== '3D000') throw probe;
  const admin = await connectPg({ ...target, url: urlWithDatabase(target.url, 'postgres'), database: 'postgres' });
  try {
    await admin.query(`CREATE DATABASE ${quoteIdent(target.database)}`);
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === '42P04') return false; // created meanwhile by another process
    if ((e as { code?: string }).code === '42501') {
      throw new DatabaseConnectionError(
        `User "${target.user}" may not create databases on ${target.host}:${target.port}: ` +
          `run \`sudo -u postgres createdb -O ${shellQuote(target.user)} ${shellQuote(target.database)}\` on the server instead`,
        '42501',
      );
    }
    throw e;
  } finally {
    await admin.end().catch(() => undefined);
  }
}
