/**
 * Whether the database can take writes: a full disk (SQLITE_FULL / ENOSPC, PostgreSQL's disk_full),
 * or a SQLite file deleted or replaced under the running process (the open connection would keep
 * writing into the unlinked file, and a restart would hand out design ids #1, #2... again, which
 * old messages and their buttons already show). Each change of state is logged once, with the
 * path, however many writes hit it; writes then fail with StorageUnavailableError, which users
 * read as "can't store designs right now" instead of a generic apology.
 */
import fs from 'node:fs';
import type { Logger } from 'pino';

export type StorageFault = 'full' | 'replaced';

/** A write refused or failed because of the storage itself (not the data). Its message is safe to show users. */
export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError';
  constructor(
    readonly fault: StorageFault,
    options?: { cause?: unknown },
  ) {
    super(
      fault === 'full'
        ? "I can't store designs or votes right now: the bot's storage is full. The operator has been told; please try again later."
        : "I can't store designs or votes right now: the bot's database is unavailable. The operator has been told; please try again later.",
      options,
    );
  }
}

/** Error codes and messages that mean "no space left" from SQLite (via better-sqlite3 / Prisma's adapter), Node or PostgreSQL. */
const FULL_CODES = new Set(['SQLITE_FULL', 'ENOSPC', '53100']);
const FULL_MESSAGE = /database or disk is full|no space left on device|ENOSPC|could not extend file/i;

/** True when `err` (or anything in its cause/meta chain) says the disk or database is full. */
export function isStorageFull(err: unknown): boolean {
  const seen = new Set<unknown>();
  const walk = (e: unknown): boolean => {
    if (!e || typeof e !== 'object' || seen.has(e)) return false;
    seen.add(e);
    const o = e as {
      code?: unknown;
      originalCode?: unknown;
      message?: unknown;
      cause?: unknown;
      meta?: { driverAdapterError?: unknown };
    };
    if (FULL_CODES.has(String(o.code)) || FULL_CODES.has(String(o.originalCode))) return true;
    if (typeof o.message === 'string' && FULL_MESSAGE.test(o.message)) return true;
    return walk(o.cause) || walk(o.meta?.driverAdapterError);
  };
  return walk(err);
}

interface FileIdentity {
  dev: number;
  ino: number;
}

function identityOf(file: string): FileIdentity | undefined {
  try {
    const st = fs.statSync(file);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

/**
 * A nearly full disk flaps (a small write still fits, the next does not): the "full" line is
 * repeated at most this often, and "accepts writes again" only follows a "full" line.
 */
const FULL_REPEAT_MS = 10 * 60_000;

export class StorageHealth {
  private faultValue: StorageFault | undefined;
  private readonly identity: FileIdentity | undefined;
  private fullAnnounced = false;
  private fullAnnouncedAt = -Infinity;

  /** `file`: the SQLite database file (its identity is taken now, when it was just opened); absent for PostgreSQL. */
  constructor(
    private readonly log: Logger,
    private readonly file?: string,
    private readonly display = file ?? 'the database',
  ) {
    this.identity = file ? identityOf(file) : undefined;
  }

  /** The current fault, if any. */
  get fault(): StorageFault | undefined {
    return this.faultValue;
  }

  /**
   * Called before every write: throws once the database file is gone or another file took its
   * place (a stat, a few microseconds). That state lasts until a restart.
   */
  beforeWrite(): void {
    if (this.faultValue === 'replaced') throw new StorageUnavailableError('replaced');
    if (!this.file || !this.identity) return;
    const now = identityOf(this.file);
    if (now && now.dev === this.identity.dev && now.ino === this.identity.ino) return;
    this.faultValue = 'replaced';
    this.log.error(
      { path: this.display, now: now ? 'another file' : 'missing' },
      now
        ? 'the database file was replaced while the bot was running: no more writes until a restart (restore the original file, or restart to use the new one)'
        : 'the database file was deleted while the bot was running: no more writes until a restart (restore it from a backup, then restart)',
    );
    throw new StorageUnavailableError('replaced');
  }

  /** After a failed write: a storage fault becomes StorageUnavailableError (logged once per episode); other errors pass through. */
  afterFailure(err: unknown): unknown {
    if (!isStorageFull(err)) return err;
    this.faultValue = 'full';
    if (!this.fullAnnounced && performance.now() - this.fullAnnouncedAt >= FULL_REPEAT_MS) {
      this.fullAnnounced = true;
      this.fullAnnouncedAt = performance.now();
      this.log.error(
        { path: this.display, err },
        'the database storage is full: designs, votes and training runs are not stored until space is freed',
      );
    }
    return new StorageUnavailableError('full', { cause: err });
  }

  /** After a successful write: a full disk that has space again is logged once as recovered. */
  afterSuccess(): void {
    if (this.faultValue !== 'full') return;
    this.faultValue = undefined;
    if (!this.fullAnnounced) return;
    this.fullAnnounced = false;
    this.log.warn({ path: this.display }, 'the database storage accepts writes again');
  }
}
