/**
 * Design ids are public: messages show "design #42" and their buttons carry the id. If the database
 * is lost (deleted, replaced by an empty or older file) a restarted bot would hand out #1, #2...
 * again and old messages would point at other designs. MODELS_DIR outlives the database (it holds
 * the checkpoints), so it keeps the highest design id this install has shown: a database below that
 * mark is refused at start-up unless the operator accepts it, and then ids continue above the mark.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { providerOf, type Db } from './client.ts';

export const DESIGN_ID_MARK_FILE = 'design-ids.json';

/** How often the mark follows the database while the bot runs (also written at start and stop). */
const FOLLOW_MS = 5000;

export class DesignIdReuseError extends Error {
  override name = 'DesignIdReuseError';
}

/** The highest design id recorded in MODELS_DIR (0: none yet, or an unreadable mark). */
export function readDesignIdMark(modelsDir: string): number {
  try {
    const v = (
      JSON.parse(fs.readFileSync(path.join(modelsDir, DESIGN_ID_MARK_FILE), 'utf8')) as { highestDesignId?: unknown }
    ).highestDesignId;
    return Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : 0;
  } catch {
    return 0;
  }
}

/** Raises the mark to `highest` (never lowers it), atomically: a crash leaves the old or the new file. */
export function raiseDesignIdMark(modelsDir: string, highest: number): void {
  if (highest <= readDesignIdMark(modelsDir)) return;
  fs.mkdirSync(modelsDir, { recursive: true });
  const file = path.join(modelsDir, DESIGN_ID_MARK_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ highestDesignId: highest, updatedAt: new Date().toISOString() }) + '\n');
  fs.renameSync(tmp, file);
}

/** The highest design id the database has handed out (rows deleted since included, where the database keeps that). */
async function highestDesignId(db: Db): Promise<number> {
  const max = (await db.design.aggregate({ _max: { id: true } }))._max.id ?? 0;
  if (providerOf(db) !== 'sqlite') return max;
  const [seq] = await db.$queryRawUnsafe<{ seq: number | bigint }[]>(
    `SELECT seq FROM sqlite_sequence WHERE name = 'Design'`,
  );
  return Math.max(max, Number(seq?.seq ?? 0));
}

/** Makes the next design id `mark + 1` or higher. */
async function continueIdsAfter(db: Db, mark: number): Promise<void> {
  if (providerOf(db) === 'sqlite') {
    const updated = await db.$executeRawUnsafe(
      `UPDATE sqlite_sequence SET seq = ${mark} WHERE name = 'Design' AND seq < ${mark}`,
    );
    const [row] = await db.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM sqlite_sequence WHERE name = 'Design'`);
    if (!updated && !row)
      await db.$executeRawUnsafe(`INSERT INTO sqlite_sequence (name, seq) VALUES ('Design', ${mark})`);
  } else {
    await db.$queryRawUnsafe(`SELECT setval(pg_get_serial_sequence('"Design"', 'id'), ${mark})`);
  }
}

export interface DesignIdMark {
  /** Stops following and records the final highest id. */
  close(): Promise<void>;
}

/**
 * Checks the database against MODELS_DIR's mark at start-up (throws DesignIdReuseError with the
 * operator's options when the database is behind it, unless `allowNewDatabase`), then keeps the
 * mark up to date while the process runs.
 */
export async function guardDesignIds(
  db: Db,
  opts: { modelsDir: string; dbDisplay: string; allowNewDatabase: boolean; log: Logger },
): Promise<DesignIdMark> {
  const { modelsDir, log } = opts;
  const mark = readDesignIdMark(modelsDir);
  const highest = await highestDesignId(db);
  if (highest < mark) {
    if (!opts.allowNewDatabase) {
      throw new DesignIdReuseError(
        `The database ${opts.dbDisplay} has handed out design ids up to #${highest}, but ${path.join(modelsDir, DESIGN_ID_MARK_FILE)} says this install already showed designs up to #${mark}: ` +
          `the database was deleted or replaced, and old messages would point at other designs. Restore it from a backup, or start with ALLOW_NEW_DATABASE=1 ` +
          `to keep this database (new designs then continue at #${mark + 1}).`,
      );
    }
    await continueIdsAfter(db, mark);
    log.warn(
      { database: opts.dbDisplay, highestInDatabase: highest, mark },
      `ALLOW_NEW_DATABASE: keeping a database behind the design-id mark; new designs continue at #${mark + 1}`,
    );
  } else {
    raiseDesignIdMark(modelsDir, highest);
  }
  let last = Math.max(mark, highest);
  const follow = async () => {
    const now = await highestDesignId(db);
    if (now > last) raiseDesignIdMark(modelsDir, now);
    last = Math.max(last, now);
  };
  const timer = setInterval(
    () => follow().catch((err) => log.warn({ err, modelsDir }, 'could not update the design-id mark')),
    FOLLOW_MS,
  );
  timer.unref();
  return {
    async close() {
      clearInterval(timer);
      await follow().catch((err) => log.warn({ err, modelsDir }, 'could not update the design-id mark'));
    },
  };
}
