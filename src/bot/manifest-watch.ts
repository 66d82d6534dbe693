/**
 * Follows MODELS_DIR/manifest.json while a process runs, so a checkpoint published by the trainer
 * (in this process, another process, or on another machine writing to a shared directory) or
 * activated by an operator (`npm run train -- --activate V`) takes effect without a restart. When
 * the manifest names a version other than the one being served, that checkpoint is loaded (every
 * file's sha256 verified), warmed up and hot-swapped in; requests in flight finish on the old one.
 *
 * Network file systems (NFS, an object-storage bucket mounted with rclone/s3fs): fs.watch sees no
 * remote changes there, so the manifest is also READ every `pollMs` (reading, unlike stat, makes
 * NFS revalidate its cache on open) and compared by content. A checkpoint named before all its
 * files arrived (a half-finished copy) fails verification: the current generator stays, one
 * warning is logged, and the load is retried quietly with backoff until it verifies.
 *
 * The quality gate runs before publishing, in the lease holder only (one implementation:
 * TrainerRunner). `gate` is a last check against a manifest that names a checkpoint the gate
 * rejected (see gateRefusal in src/trainer/served.ts). Changes the process makes itself leave
 * manifest and served version equal (no-ops); while `isBusy()` the check is postponed.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { loadGeneratorCheckpoint } from '../gan/checkpoint-load.ts';
import { readManifest, type Manifest } from '../gan/manifest.ts';
import type { ServedModel } from './trainer-runner.ts';

export interface ManifestWatchOptions {
  modelsDir: string;
  generation: ServedModel;
  log: Logger;
  /** True while this process itself may be changing the manifest (check later). */
  isBusy?: () => boolean;
  /** Resolves to a reason when `version` must not be served although the manifest names it. */
  gate?: (version: string, manifest: Manifest) => Promise<string | undefined>;
  /** Called after a successful swap (e.g. to record the checkpoint as active). */
  onSwap?: (e: { version: string; previous?: string }) => void | Promise<void>;
  /** Quiet time after the last change before acting (default 300 ms). */
  debounceMs?: number;
  /** Poll interval (default 5000 ms). */
  pollMs?: number;
  /** First retry of a checkpoint that failed to load (default 15 s; doubles up to 5 min). */
  retryMs?: number;
  /** Check once right away (e.g. when start-up served a fallback). */
  checkNow?: boolean;
}

export interface ManifestWatcher {
  /** Compares the manifest with the served version now and swaps if they differ. */
  check(): Promise<void>;
  close(): void;
}

const MANIFEST = 'manifest.json';
const MAX_RETRY_MS = 5 * 60_000;

export function watchManifest(opts: ManifestWatchOptions): ManifestWatcher {
  const { modelsDir, generation, log } = opts;
  const file = path.join(modelsDir, MANIFEST);
  const debounceMs = opts.debounceMs ?? 300;
  const firstRetryMs = opts.retryMs ?? 15_000;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let pending = false;
  // The last version that could not be served, for this manifest content: warned about once,
  // retried quietly at `retryAt`.
  let failed: { version: string; stamp: string; retryAt: number; delay: number } | undefined;
  let lastStamp = '';

  const stampOf = async (): Promise<string> => {
    try {
      return await fsp.readFile(file, 'utf8');
    } catch {
      return 'missing';
    }
  };

  const fail = (version: string, stamp: string, warn: () => void): void => {
    const same = failed && failed.version === version && failed.stamp === stamp;
    const delay = same ? Math.min(failed!.delay * 2, MAX_RETRY_MS) : firstRetryMs;
    if (!same) warn();
    else log.debug({ version, retryInMs: delay }, 'checkpoint named by manifest.json still not servable; retrying later');
    failed = { version, stamp, retryAt: Date.now() + delay, delay };
  };

  const checkOnce = async (): Promise<void> => {
    if (opts.isBusy?.()) {
      pending = true;
      return;
    }
    pending = false;
    const stamp = await stampOf();
    let manifest: Manifest;
    try {
      manifest = await readManifest(modelsDir);
    } catch (err) {
      fail('', stamp, () => log.warn({ reason: (err as Error).message }, 'manifest.json unreadable; keeping the current generator'));
      return;
    }
    const want = manifest.active;
    const served = generation.active?.version;
    if (!want || want === served) {
      failed = undefined;
      return;
    }
    if (failed && failed.version === want && failed.stamp === stamp && Date.now() < failed.retryAt) return;
    const refused = await opts.gate?.(want, manifest);
    if (refused) {
      fail(want, stamp, () => log.warn({ version: want, serving: served, reason: refused }, `manifest.json names ${want} but ${refused}; keeping the current generator`));
      return;
    }
    let loaded;
    try {
      loaded = await loadGeneratorCheckpoint(modelsDir, want);
    } catch (err) {
      fail(want, stamp, () =>
        log.warn(
          { version: want, serving: served, reason: (err as Error).message },
          'manifest names a checkpoint that does not load; keeping the current generator (retrying later, e.g. if it is still being copied)',
        ),
      );
      return;
    }
    // The world may have moved while loading: only swap if nothing else did.
    const now = await readManifest(modelsDir).catch(() => undefined);
    if (closed || opts.isBusy?.() || generation.active?.version !== served || now?.active !== want) {
      loaded.model.dispose();
      pending = true;
      return;
    }
    try {
      await generation.swap(loaded);
    } catch (err) {
      loaded.model.dispose();
      fail(want, stamp, () => log.warn({ version: want, err }, 'checkpoint from manifest.json failed its warm-up; keeping the current generator'));
      return;
    }
    failed = undefined;
    log.info({ version: want, previous: served }, 'manifest.json changed outside this process: hot-swapped to its active checkpoint');
    try {
      await opts.onSwap?.({ version: want, previous: served });
    } catch (err) {
      log.warn({ err, version: want }, 'could not record the manifest swap');
    }
  };

  const check = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await checkOnce();
        } while (again && !closed);
      } catch (err) {
        pending = true; // try again on the next poll
        log.warn({ err }, 'manifest check failed');
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const schedule = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void check(), debounceMs);
    timer.unref();
  };

  let watcher: fs.FSWatcher | undefined;
  try {
    watcher = fs.watch(modelsDir, { persistent: false }, (_event, name) => {
      if (!name || name.toString() === MANIFEST) schedule();
    });
    watcher.on('error', (err) => {
      log.debug({ err }, 'fs.watch on the models directory stopped; polling only');
      watcher?.close();
      watcher = undefined;
    });
  } catch (err) {
    // e.g. MODELS_DIR does not exist yet: the poll below still notices a manifest appearing.
    log.debug({ reason: (err as Error).message }, 'cannot fs.watch the models directory; polling manifest.json');
  }
  // Synchronously: a stamp taken later could already include a change and hide it from the poll.
  try {
    lastStamp = fs.readFileSync(file, 'utf8');
  } catch {
    lastStamp = 'missing';
  }
  const poll = setInterval(() => {
    void stampOf().then((s) => {
      const retryDue = failed !== undefined && Date.now() >= failed.retryAt;
      if (s !== lastStamp || pending || retryDue) {
        lastStamp = s;
        schedule();
      }
    });
  }, opts.pollMs ?? 5000);
  poll.unref();
  if (opts.checkNow) schedule();

  return {
    check,
    close() {
      closed = true;
      clearTimeout(timer);
      clearInterval(poll);
      watcher?.close();
    },
  };
}
