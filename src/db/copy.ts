/**
 * Copies shoebot's data from one database to another, e.g. an existing SQLite install to a new
 * PostgreSQL database: designs, votes, checkpoints and training runs, ids included (votes and
 * variations refer to designs by id, and the bot shows design ids to members). The target is
 * migrated first and must be empty; the copy is one transaction on the target, so it lands whole
 * or not at all. Trainer lease and pending trainer requests are run-time state and are not copied.
 */
import fs from 'node:fs';
import { openDatabase, providerOf, type Db } from './client.ts';
import { parseDatabaseUrl } from './paths.ts';

/** Tables in foreign-key order (a vote needs its design). */
export const COPIED_TABLES = ['design', 'vote', 'checkpoint', 'trainingRun'] as const;
export type CopiedTable = (typeof COPIED_TABLES)[number];
const SQL_NAMES: Record<CopiedTable, string> = {
  design: 'Design',
  vote: 'Vote',
  checkpoint: 'Checkpoint',
  trainingRun: 'TrainingRun',
};

export class CopyRefusedError extends Error {
  override name = 'CopyRefusedError';
}

export interface CopyOptions {
  /** Rows per batch (default 500). */
  batchSize?: number;
  /** Called after each batch with the table, rows copied so far and the table's total. */
  onProgress?: (table: CopiedTable, done: number, total: number) => void;
}

/** Minimal view of a model delegate that the copy needs (same for every table). */
interface Delegate {
  count(): Promise<number>;
  findMany(args: {
    orderBy: { id: 'asc' };
    take: number;
    cursor?: { id: number };
    skip?: number;
  }): Promise<{ id: number }[]>;
  createMany(args: { data: object[] }): Promise<{ count: number }>;
}
const delegate = (db: object, table: CopiedTable) => (db as Record<CopiedTable, Delegate>)[table];

/**
 * Copies every row of COPIED_TABLES from `fromUrl` to `toUrl` (both migrated first); returns the
 * row counts. Throws CopyRefusedError when the target already holds any of that data.
 */
export async function copyDatabase(
  fromUrl: string,
  toUrl: string,
  opts: CopyOptions = {},
): Promise<Record<CopiedTable, number>> {
  const batch = opts.batchSize ?? 500;
  const source = parseDatabaseUrl(fromUrl);
  // Opening a SQLite URL creates the file: a mistyped --from would "copy" an empty new database.
  if (source.provider === 'sqlite' && !fs.existsSync(source.dbPath)) {
    throw new CopyRefusedError(
      `There is no SQLite database at ${source.display}: check --from (the bot's DATABASE_URL, e.g. file:./data/shoebot.db)`,
    );
  }
  if (parseDatabaseUrl(toUrl).display === source.display)
    throw new CopyRefusedError('--from and --to name the same database');
  const from = await openDatabase(fromUrl);
  let to: Db | undefined;
  try {
    to = await openDatabase(toUrl);
    for (const t of COPIED_TABLES) {
      const n = await delegate(to, t).count();
      if (n > 0) {
        throw new CopyRefusedError(
          `The target already has data (${n} row(s) in ${SQL_NAMES[t]}): copy into a new, empty database`,
        );
      }
    }
    const totals = {} as Record<CopiedTable, number>;
    for (const t of COPIED_TABLES) totals[t] = await delegate(from, t).count();
    const target = to;
    await target.$transaction(
      async (tx) => {
        for (const t of COPIED_TABLES) {
          let done = 0;
          let cursor: number | undefined;
          for (;;) {
            const rows = await delegate(from, t).findMany({
              orderBy: { id: 'asc' },
              take: batch,
              ...(cursor === undefined ? {} : { cursor: { id: cursor }, skip: 1 }),
            });
            if (rows.length === 0) break;
            await delegate(tx, t).createMany({ data: rows });
            done += rows.length;
            cursor = rows[rows.length - 1].id;
            opts.onProgress?.(t, done, totals[t]);
          }
          if (done !== totals[t])
            throw new Error(
              `${SQL_NAMES[t]} changed during the copy (${done} of ${totals[t]} rows): stop the bot first`,
            );
        }
        if (providerOf(target) === 'postgresql') {
          // Rows kept their ids: move each id sequence past them, or the next insert would collide.
          for (const t of COPIED_TABLES) {
            const table = SQL_NAMES[t];
            await tx.$executeRawUnsafe(
              `SELECT setval(pg_get_serial_sequence('"${table}"', 'id'), COALESCE(MAX("id"), 1), MAX("id") IS NOT NULL) FROM "${table}"`,
            );
          }
        }
      },
      { timeout: 60 * 60_000, maxWait: 60_000 },
    );
    return totals;
  } finally {
    await from.$disconnect().catch(() => undefined);
    await to?.$disconnect().catch(() => undefined);
  }
}
