/**
 * Follows models/manifest.json while the bot runs, so an operator's
 * `npm run train -- --activate V` (or a CLI training run) takes effect
 * without a restart. When the manifest names a version other than the one
 * being served, that checkpoint is loaded (checksums verified), warmed up and
 * hot-swapped in — the operator's explicit choice, so no quality gate.
 *
 * fs.watch on the models directory (the manifest is replaced by rename, so
 * watching the file itself would lose it) plus a slow mtime poll as the
 * fallback where fs.watch is unreliable (network/overlay file systems).
 * Changes the bot makes itself leave manifest and served version equal, so
 * they are no-ops; while `isBusy()` (a training run or a swap of the bot's
 * own is in progress, during which the two legitimately differ) the check
 * is postponed.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { loadGeneratorCheckpoint, readManifest } from '../gan/checkpoint.ts';
import type { GenerationService } from './generation.ts';

export interface ManifestWatchOptions {
  modelsDir: string;
  generation: GenerationService;
  log: Logger;
  /** True while the bot itself may be changing the manifest (check later). */
  isBusy?: () => boolean;
  /** Called after a successful swap (e.g. to record the checkpoint as active). */
  onSwap?: (e: { version: string; previous?: string }) => void | Promise<void>;
  /** Quiet time after the last change before acting (default 300 ms). */
  debounceMs?: number;
  /** Poll interval of the fallback (default 5000 ms). */
  pollMs?: number;
}

export interface ManifestWatcher {
  /** Compares the manifest with the served version now and swaps if they differ. */
  check(): Promise<void>;
  close(): void;
}

const MANIFEST = 'manifest.json';

export function watchManifest(opts: ManifestWatchOptions): ManifestWatcher {
  const { modelsDir, generation, log } = opts;
  const file = path.join(modelsDir, MANIFEST);
  const debounceMs = opts.debounceMs ?? 300;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let pending = false;
  // A version that failed to load is not retried until the manifest changes again.
  let failed: { version: string; stamp: string } | undefined;
  let lastStamp = '';

  const stampOf = async (): Promise<string> => {
    try {
      const st = await fsp.stat(file);
      return `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      return 'missing';
    }
  };

  const checkOnce = async (): Promise<void> => {
    if (opts.isBusy?.()) {
      pending = true;
      return;
    }
    pending = false;
    const stamp = await stampOf();
    let want: string | null;
    try {
      want = (await readManifest(modelsDir)).active;
    } catch (err) {
      if (failed?.stamp !== stamp) log.warn({ reason: (err as Error).message }, 'manifest.json unreadable; keeping the current generator');
      failed = { version: '', stamp };
      return;
    }
    const served = generation.active?.version;
    if (!want || want === served) return;
    if (failed && failed.version === want && failed.stamp === stamp) return;
    let loaded;
    try {
      loaded = await loadGeneratorCheckpoint(modelsDir, want);
    } catch (err) {
      failed = { version: want, stamp };
      log.warn({ version: want, serving: served, reason: (err as Error).message }, 'manifest names a checkpoint that does not load; keeping the current generator');
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
      failed = { version: want, stamp };
      log.warn({ version: want, err }, 'checkpoint from manifest.json failed its warm-up; keeping the current generator');
      return;
    }
    failed = undefined;
    log.info({ version: want, previous: served }, 'manifest.json changed outside the bot: hot-swapped to its active checkpoint (no quality gate: operator choice)');
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
    const st = fs.statSync(file);
    lastStamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    lastStamp = 'missing';
  }
  const poll = setInterval(() => {
    void stampOf().then((s) => {
      if (s !== lastStamp || pending) {
        lastStamp = s;
        schedule();
      }
    });
  }, opts.pollMs ?? 5000);
  poll.unref();

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
