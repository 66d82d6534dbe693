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
 * activation.ts). `gate` is a last check against a manifest that names a checkpoint the gate
 * rejected (see gateRefusal in quality-gate.ts). Changes the process makes itself leave
 * manifest and served version equal (no-ops); while `isBusy()` the check is postponed.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { loadGeneratorCheckpoint } from '../gan/checkpoint-load.ts';
import { readManifest, type Manifest } from '../gan/manifest.ts';
import type { ServedModel } from './served.ts';

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

/** Starts following the manifest (fs.watch where it works, a poll everywhere). */
export function watchManifest(opts: ManifestWatchOptions): ManifestWatcher {
  return new ManifestWatch(opts);
}

/** The last version that could not be served, for one manifest content: warned about once, retried quietly at `retryAt`. */
interface FailedLoad {
  version: string;
  stamp: string;
  retryAt: number;
  delay: number;
}

class ManifestWatch implements ManifestWatcher {
  private readonly file: string;
  private closed = false;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private pending = false;
  private failed?: FailedLoad;
  private lastStamp = '';
  private watcher?: fs.FSWatcher;
  private readonly poll: NodeJS.Timeout;

  constructor(private readonly opts: ManifestWatchOptions) {
    this.file = path.join(opts.modelsDir, MANIFEST);
    this.watchDirectory();
    // Synchronously: a stamp taken later could already include a change and hide it from the poll.
    try {
      this.lastStamp = fs.readFileSync(this.file, 'utf8');
    } catch {
      this.lastStamp = 'missing';
    }
    this.poll = setInterval(() => void this.pollOnce(), opts.pollMs ?? 5000);
    this.poll.unref();
    if (opts.checkNow) this.schedule();
  }

  /** Compares the manifest with the served version now and swaps if they differ (one check at a time; a call during one runs another after it). */
  check(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.checkOnce();
        } while (this.again && !this.closed);
      } catch (err) {
        this.pending = true; // try again on the next poll
        this.opts.log.warn({ err }, 'manifest check failed');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.poll);
    this.watcher?.close();
  }

  private watchDirectory(): void {
    const { modelsDir, log } = this.opts;
    try {
      this.watcher = fs.watch(modelsDir, { persistent: false }, (_event, name) => {
        if (!name || name.toString() === MANIFEST) this.schedule();
      });
      this.watcher.on('error', (err) => {
        log.debug({ err }, 'fs.watch on the models directory stopped; polling only');
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      // e.g. MODELS_DIR does not exist yet: the poll still notices a manifest appearing.
      log.debug({ reason: (err as Error).message }, 'cannot fs.watch the models directory; polling manifest.json');
    }
  }

  /** Reads the manifest (reading, unlike stat, makes NFS revalidate) and checks when it changed, a check is pending or a retry is due. */
  private async pollOnce(): Promise<void> {
    const s = await this.stampOf();
    const retryDue = this.failed !== undefined && Date.now() >= this.failed.retryAt;
    if (s !== this.lastStamp || this.pending || retryDue) {
      this.lastStamp = s;
      this.schedule();
    }
  }

  /** A check after `debounceMs` of quiet. */
  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), this.opts.debounceMs ?? 300);
    this.timer.unref();
  }

  private async stampOf(): Promise<string> {
    try {
      return await fsp.readFile(this.file, 'utf8');
    } catch {
      return 'missing';
    }
  }

  /** Remembers a failed load; `warn` runs only the first time for this version and manifest content. */
  private fail(version: string, stamp: string, warn: () => void): void {
    const failed = this.failed;
    const same = failed && failed.version === version && failed.stamp === stamp;
    const delay = same ? Math.min(failed!.delay * 2, MAX_RETRY_MS) : (this.opts.retryMs ?? 15_000);
    if (!same) warn();
    else
      this.opts.log.debug(
        { version, retryInMs: delay },
        'checkpoint named by manifest.json still not servable; retrying later',
      );
    this.failed = { version, stamp, retryAt: Date.now() + delay, delay };
  }

  /** One comparison of manifest and served version, and the swap when they differ. */
  private async checkOnce(): Promise<void> {
    const { modelsDir, generation, log } = this.opts;
    if (this.opts.isBusy?.()) {
      this.pending = true;
      return;
    }
    this.pending = false;
    const stamp = await this.stampOf();
    let manifest: Manifest;
    try {
      manifest = await readManifest(modelsDir);
    } catch (err) {
      this.fail('', stamp, () =>
        log.warn({ reason: (err as Error).message }, 'manifest.json unreadable; keeping the current generator'),
      );
      return;
    }
    const want = manifest.active;
    const served = generation.active?.version;
    if (!want || want === served) {
      this.failed = undefined;
      return;
    }
    const failed = this.failed;
    if (failed && failed.version === want && failed.stamp === stamp && Date.now() < failed.retryAt) return;
    const refused = await this.opts.gate?.(want, manifest);
    if (refused) {
      this.fail(want, stamp, () =>
        log.warn(
          { version: want, serving: served, reason: refused },
          `manifest.json names ${want} but ${refused}; keeping the current generator`,
        ),
      );
      return;
    }
    await this.swapTo(want, served, stamp);
  }

  /** Loads `want`, swaps it in unless the world moved meanwhile, and tells onSwap. */
  private async swapTo(want: string, served: string | undefined, stamp: string): Promise<void> {
    const { modelsDir, generation, log } = this.opts;
    let loaded;
    try {
      loaded = await loadGeneratorCheckpoint(modelsDir, want);
    } catch (err) {
      this.fail(want, stamp, () =>
        log.warn(
          { version: want, serving: served, reason: (err as Error).message },
          'manifest names a checkpoint that does not load; keeping the current generator (retrying later, e.g. if it is still being copied)',
        ),
      );
      return;
    }
    // The world may have moved while loading: only swap if nothing else did.
    const now = await readManifest(modelsDir).catch(() => undefined);
    if (this.closed || this.opts.isBusy?.() || generation.active?.version !== served || now?.active !== want) {
      loaded.model.dispose();
      this.pending = true;
      return;
    }
    try {
      await generation.swap(loaded);
    } catch (err) {
      loaded.model.dispose();
      this.fail(want, stamp, () =>
        log.warn(
          { version: want, err },
          'checkpoint from manifest.json failed its warm-up; keeping the current generator',
        ),
      );
      return;
    }
    this.failed = undefined;
    log.info(
      { version: want, previous: served },
      'manifest.json changed outside this process: hot-swapped to its active checkpoint',
    );
    try {
      await this.opts.onSwap?.({ version: want, previous: served });
    } catch (err) {
      log.warn({ err, version: want }, 'could not record the manifest swap');
    }
  }
}
