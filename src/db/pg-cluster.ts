/**
 * A throw-away PostgreSQL cluster in a temporary folder, listening on 127.0.0.1 only: the tests run
 * against it, and `npm run db:migrate` diffs the PostgreSQL migration history on one. Uses the
 * server binaries of Debian's `postgresql` package (/usr/lib/postgresql/<version>/bin). initdb and
 * postgres refuse to run as root, so under root they run as the `postgres` system user (runuser).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The Debian package that provides the server binaries. */
export const PG_APT_PACKAGE = 'postgresql';

export class PgBinariesMissingError extends Error {
  override name = 'PgBinariesMissingError';
}

/**
 * The folder holding initdb/pg_ctl/postgres: $PG_BIN_DIR, else the newest
 * /usr/lib/postgresql/<version>/bin, else the folder of `pg_config --bindir`, else undefined.
 */
export function findPgBinDir(): string | undefined {
  const has = (dir: string) => ['initdb', 'pg_ctl', 'postgres'].every((b) => fs.existsSync(path.join(dir, b)));
  if (process.env.PG_BIN_DIR) return has(process.env.PG_BIN_DIR) ? process.env.PG_BIN_DIR : undefined;
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base)
    ? fs
        .readdirSync(base)
        .filter((v) => /^\d+(\.\d+)?$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) if (has(path.join(base, v, 'bin'))) return path.join(base, v, 'bin');
  const r = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (r.status === 0 && has(r.stdout.trim())) return r.stdout.trim();
  return undefined;
}

/** Asks the kernel for a free TCP port on 127.0.0.1 (free now; the server binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface PgCluster {
  /** Superuser URL of the maintenance database `postgres` (password auth over TCP). */
  url: string;
  port: number;
  /** The temporary folder (data directory, socket, log). */
  dir: string;
  /** A URL for database `name` on this cluster. */
  urlFor(name: string): string;
  /** Stops the server (fast shutdown) and removes the folder. Safe to call twice. */
  stop(): void;
}

export interface StartPgClusterOptions {
  /** Skip fsync & co. Only for data nobody needs after a crash (tests, scratch diffs). Default true. */
  unsafeFast?: boolean;
  /** Default 200: test files open several clients, each with its own pool. */
  maxConnections?: number;
  /** Extra server settings (postgres -c name=value), e.g. { timezone: 'Pacific/Auckland' }. */
  settings?: Record<string, string>;
}

/** Runs one server binary in the cluster folder (as `postgres` under root); returns its stdout, throws on failure. */
type PgRun = (cmd: string, args: string[]) => string;

function pgRunner(bin: string, dir: string, asRoot: boolean): PgRun {
  return (cmd, args) => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args]]
      : [path.join(bin, cmd), args];
    const r = spawnSync(file, argv, { encoding: 'utf8', cwd: dir, env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });
    if (r.status !== 0) {
      throw new Error(
        `${cmd} failed (exit ${r.status}): ${(r.stderr || r.stdout || String(r.error ?? '')).trim().slice(-2000)}`,
      );
    }
    return r.stdout;
  };
}

/** A new temporary folder with the superuser password in `pw` (owned by `postgres` under root). */
function makeClusterDir(asRoot: boolean): { dir: string; password: string; pwfile: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoebot-pg-'));
  const password = crypto.randomBytes(18).toString('base64url');
  const pwfile = path.join(dir, 'pw');
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (asRoot) {
    // The server runs as `postgres`: it must own its folder.
    const ids = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
    const gid = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
    fs.chownSync(dir, Number(ids), Number(gid));
    fs.chownSync(pwfile, Number(ids), Number(gid));
  }
  return { dir, password, pwfile };
}

/** initdb into `data`: superuser `postgres` with the password in `pwfile` (removed after). */
function initCluster(run: PgRun, data: string, pwfile: string, opts: StartPgClusterOptions): void {
  run('initdb', [
    '-D',
    data,
    '-U',
    'postgres',
    `--pwfile=${pwfile}`,
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    '-E',
    'UTF8',
    '--locale=C',
    ...(opts.unsafeFast !== false ? ['--no-sync'] : []),
  ]);
  fs.rmSync(pwfile);
}

/** Starts the server of `data` on a free port and returns the port. */
async function startServer(run: PgRun, dir: string, data: string, opts: StartPgClusterOptions): Promise<number> {
  let fast = opts.unsafeFast !== false ? ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off' : '';
  for (const [k, v] of Object.entries(opts.settings ?? {})) fast += ` -c ${k}=${v}`;
  // pg_ctl may pick a port another starter grabbed in between: retry with a new one.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      run('pg_ctl', [
        '-D',
        data,
        '-l',
        path.join(dir, 'server.log'),
        '-w',
        '-t',
        '60',
        '-o',
        `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c max_connections=${opts.maxConnections ?? 200}${fast}`,
        'start',
      ]);
    } catch (e) {
      if (attempt < 3 && /already in use|could not bind/i.test(fs.readFileSync(path.join(dir, 'server.log'), 'utf8')))
        continue;
      throw e;
    }
    return port;
  }
}

/**
 * initdb + start a private cluster on a free port of 127.0.0.1, superuser `postgres` with a random
 * password (scram over TCP). Throws PgBinariesMissingError naming the apt package when the server
 * binaries are not installed. Stop it with `stop()`; a cluster left behind by a killed process is
 * an ordinary folder under the temp dir plus a server that `pg_ctl -D <dir>/data stop` ends.
 */
export async function startPgCluster(opts: StartPgClusterOptions = {}): Promise<PgCluster> {
  const bin = findPgBinDir();
  if (!bin) {
    throw new PgBinariesMissingError(
      `PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: install them with ` +
        `\`apt-get install ${PG_APT_PACKAGE}\` (or set PG_BIN_DIR, or point SHOEBOT_TEST_PG_URL at an existing server)`,
    );
  }
  const asRoot = process.getuid?.() === 0;
  const { dir, password, pwfile } = makeClusterDir(asRoot);
  const data = path.join(dir, 'data');
  const run = pgRunner(bin, dir, asRoot);
  let started = false;
  const stop = () => {
    if (started) {
      started = false;
      try {
        run('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
      } catch {
        // Already gone (e.g. killed): removing the folder is all that is left.
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    initCluster(run, data, pwfile, opts);
    const port = await startServer(run, dir, data, opts);
    started = true;
    const base = `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`;
    return { url: `${base}/postgres`, port, dir, urlFor: (name) => `${base}/${encodeURIComponent(name)}`, stop };
  } catch (e) {
    stop();
    throw e;
  }
}
