/**
 * Doctor checks of what shoebot keeps: the database (reachable, migrated), MODELS_DIR (writable,
 * active checkpoint verified), the dataset the next training run would use, and free disk space.
 * Severity rule: ✗ when `npm start` would fail or /shoe could not answer; ⚠ when the bot serves
 * but something else (training, publishing) would fail.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/env.ts';
import { DATASET_HINT, folderDatasetHint } from '../data/dataset-hints.ts';
import { DEFAULT_DATASET, loadDataset, resolveDatasetDir } from '../data/dataset.ts';
import { MigrationError } from '../db/migration-error.ts';
import { migrationStatus } from '../db/migration-status.ts';
import { displayPath, parseDatabaseUrl } from '../db/paths.ts';
import { activeDataset, readManifest, runDatasetName } from '../gan/manifest.ts';
import { checkpointsDir } from '../gan/checkpoint.ts';
import { newestValidCheckpoint } from '../gan/catalogue.ts';
import { verifyCheckpoint } from '../gan/checkpoint-load.ts';
import { writeProbe } from '../gan/models-dir.ts';
import { fail, ok, warn, type CheckResult } from './report.ts';

const list = (names: string[]) => names.map((n) => `\`${n}\``).join(', ');

export async function databaseCheck(url: string): Promise<CheckResult> {
  let status;
  try {
    status = await migrationStatus(url);
  } catch (err) {
    const e = err as Error;
    if (e instanceof MigrationError && e.code === 'NO_DATABASE') {
      return warn('database', `Database: ${e.message}`, '`npm start` (or `npm run db:deploy`) creates and migrates it');
    }
    const postgres = /^postgres/i.test(url);
    return fail(
      'database',
      `Database not usable: ${e.message}`,
      postgres
        ? 'check DATABASE_URL and the PostgreSQL server (README, "PostgreSQL")'
        : 'check DATABASE_URL: it must name a SQLite file shoebot can create and write (README, "Database")',
    );
  }
  const where = `${status.provider === 'sqlite' ? 'SQLite' : 'PostgreSQL'} ${status.where}`;
  if (status.failed.length || status.edited.length) {
    const what = status.failed.length
      ? `migration ${list(status.failed)} failed earlier`
      : `applied migration ${list(status.edited)} was edited since`;
    return fail(
      'database',
      `Database ${where}: ${what}; the bot refuses to start`,
      'run `npm run db:deploy` for the exact repair steps (README, "Changing the schema")',
    );
  }
  const applied = status.total - status.pending.length;
  const unknown = status.unknown.length
    ? [`applied migrations this shoebot does not know (a newer version migrated it): ${status.unknown.join(', ')}`]
    : [];
  if (status.pending.length) {
    return warn(
      'database',
      `Database ${where}: reachable, ${status.pending.length} of ${status.total} migration(s) pending`,
      '`npm start` applies them, or `npm run db:deploy` now',
      unknown,
    );
  }
  return ok('database', `Database ${where}: reachable, all ${applied} migrations applied`, unknown);
}

export function modelsDirCheck(modelsDir: string, trainerMode: Config['TRAINER_MODE']): CheckResult {
  const shown = displayPath(path.resolve(modelsDir));
  if (!fs.existsSync(modelsDir)) {
    return fail(
      'models-dir',
      `MODELS_DIR ${shown} does not exist`,
      'set MODELS_DIR to the folder holding manifest.json and checkpoints/ (the repository ships one in models/)',
    );
  }
  if (!fs.statSync(modelsDir).isDirectory())
    return fail('models-dir', `MODELS_DIR ${shown} is not a folder`, 'point MODELS_DIR at a folder');
  const dirs = [modelsDir, checkpointsDir(modelsDir)].filter((d) => fs.existsSync(d));
  for (const d of dirs) {
    const err = writeProbe(d);
    if (!err) continue;
    const summary = `MODELS_DIR ${shown}: cannot write in ${displayPath(path.resolve(d))} (${err.code ?? err.message})`;
    const fix = `make it writable for the user running shoebot (e.g. \`chown -R $USER ${shown}\`), or set MODELS_DIR to a writable copy of it (\`cp -r models data/models\`)`;
    // A serve-only bot never writes checkpoints or the manifest.
    if (trainerMode === 'off') return ok('models-dir', `${summary}: fine for this serve-only bot (TRAINER_MODE=off)`);
    return warn('models-dir', `${summary}: training could not save checkpoints or publish them`, fix);
  }
  return ok('models-dir', `MODELS_DIR ${shown}: writable`);
}

export async function checkpointCheck(modelsDir: string): Promise<CheckResult> {
  let active: string | null;
  try {
    active = (await readManifest(modelsDir)).active;
  } catch (err) {
    return fail(
      'checkpoint',
      `Active checkpoint: ${(err as Error).message}`,
      'fix manifest.json or run `npm run train -- --activate <version>`',
    );
  }
  let reason = 'manifest.json names no active checkpoint';
  if (active) {
    try {
      const meta = await verifyCheckpoint(modelsDir, active);
      const c = meta.config;
      return ok(
        'checkpoint',
        `Active checkpoint ${active}: verified (step ${meta.step}, ${c.imageSize}x${c.imageSize}x${c.channels}; every file's sha256, shapes)`,
      );
    } catch (err) {
      reason = (err as Error).message;
    }
  }
  const fallback = await newestValidCheckpoint(modelsDir, {
    exclude: active ? [active] : [],
    order: 'best-quality',
  }).catch(() => undefined);
  if (fallback) {
    return warn(
      'checkpoint',
      `Active checkpoint: ${reason}; the bot serves another valid one instead (e.g. ${fallback})`,
      `\`npm run train -- --activate ${fallback}\`, or restore ${active ?? 'the manifest'} from a backup`,
    );
  }
  return fail(
    'checkpoint',
    `Active checkpoint: ${reason}, and no other checkpoint verifies: /shoe cannot answer`,
    'copy a checkpoint into MODELS_DIR (the repository ships one in models/) or train one: `npm run train`',
  );
}

export async function datasetCheck(
  cfg: Pick<Config, 'MODELS_DIR' | 'DATA_DIR' | 'TRAINER_MODE'>,
): Promise<CheckResult> {
  const name = runDatasetName(undefined, cfg.MODELS_DIR);
  const model = activeDataset(cfg.MODELS_DIR);
  const what = `Dataset "${name}" for the next training run`;
  let dir: string;
  try {
    dir = resolveDatasetDir(name, cfg.DATA_DIR);
  } catch {
    const fix = name === DEFAULT_DATASET || name !== model?.name ? DATASET_HINT : folderDatasetHint(model);
    if (cfg.TRAINER_MODE === 'off')
      return ok('dataset', `${what}: not under ${cfg.DATA_DIR}/datasets, not needed here (TRAINER_MODE=off)`);
    return warn(
      'dataset',
      `${what}: not found under ${cfg.DATA_DIR}/datasets; the bot serves /shoe but cannot train`,
      fix,
    );
  }
  try {
    const { meta } = await loadDataset(dir);
    const shape = `${meta.width}x${meta.height}x${meta.channels}`;
    if (
      model &&
      (meta.height !== model.imageSize || meta.width !== model.imageSize || meta.channels !== model.channels)
    ) {
      return warn(
        'dataset',
        `${what}: ${shape} images, but the active model makes ${model.imageSize}x${model.imageSize}x${model.channels}`,
        `re-import it at that size: ${folderDatasetHint(model)}`,
      );
    }
    return ok(
      'dataset',
      `${what}: ${meta.trainCount} train + ${meta.heldoutCount} held-out images, ${shape}, fingerprint verified (${displayPath(path.resolve(dir))})`,
    );
  } catch (err) {
    return warn('dataset', `${what}: ${(err as Error).message}`, 'import it again (README, "Get going")');
  }
}

/** Below this a vote or a design may fail to store (SQLITE_FULL); a checkpoint alone is ~25 MB. */
const DISK_FAIL_BYTES = 200 * 2 ** 20;
const DISK_WARN_BYTES = 2 * 2 ** 30;

function existingAncestor(p: string): string {
  let dir = path.resolve(p);
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

const gb = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GB`;

/** Free space on each filesystem holding the database, the datasets and the checkpoints. */
export function diskCheck(places: { label: string; path: string }[]): CheckResult[] {
  const byDevice = new Map<number, { labels: string[]; dir: string }>();
  for (const p of places) {
    const dir = existingAncestor(p.path);
    const dev = fs.statSync(dir).dev;
    const entry = byDevice.get(dev) ?? { labels: [], dir };
    entry.labels.push(p.label);
    byDevice.set(dev, entry);
  }
  return [...byDevice.values()].map(({ labels, dir }) => {
    const s = fs.statfsSync(dir);
    const free = s.bavail * s.bsize;
    const summary = `Disk: ${gb(free)} free of ${gb(s.blocks * s.bsize)} where ${labels.join(', ')} live (${displayPath(dir)})`;
    const fix = `free space on that filesystem, or move ${labels.join(', ')} to a larger one`;
    if (free < DISK_FAIL_BYTES) return fail('disk', `${summary}: votes and designs may fail to store`, fix);
    if (free < DISK_WARN_BYTES) return warn('disk', `${summary}: a training run's checkpoints may not fit`, fix);
    return ok('disk', summary);
  });
}

/** The places diskCheck looks at, for a configuration. */
export function storagePlaces(
  cfg: Partial<Pick<Config, 'DATABASE_URL' | 'DATA_DIR' | 'MODELS_DIR'>>,
): { label: string; path: string }[] {
  const places: { label: string; path: string }[] = [];
  if (cfg.DATABASE_URL) {
    try {
      const t = parseDatabaseUrl(cfg.DATABASE_URL);
      if (t.provider === 'sqlite') places.push({ label: 'the database', path: path.dirname(t.dbPath) });
    } catch {
      // reported by the database check
    }
  }
  if (cfg.DATA_DIR) places.push({ label: 'DATA_DIR', path: cfg.DATA_DIR });
  if (cfg.MODELS_DIR) places.push({ label: 'MODELS_DIR', path: cfg.MODELS_DIR });
  return places;
}
