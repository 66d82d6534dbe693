/**
 * Which checkpoint a process serves, decided in one place for the bot and the trainer service:
 * the manifest's active checkpoint when it verifies; otherwise (corrupt, half-copied, missing) the
 * one the database records as active (served last), else the newest checkpoint users were served
 * before (status retired), else the best by quality. The trainer continues from exactly that version (`--resume V`), so what users
 * see, what /train run announces and what a new candidate is compared with are the same.
 */
import type { Logger } from 'pino';
import type { PrismaClient } from '../db/client.ts';
import { loadGeneratorCheckpoint, type LoadedGenerator } from '../gan/checkpoint-load.ts';
import { newestValidCheckpoint } from '../gan/catalogue.ts';
import { readManifest } from '../gan/manifest.ts';
import { type CheckpointMetrics } from '../gan/quality.ts';

/**
 * What the scheduler hot-swaps: the bot's GenerationService, or (in a process that only trains: the
 * standalone trainer, the shard manager) a PublishedModel that keeps the checkpoint's metadata.
 */
export interface ServedModel {
  readonly active: { version: string; step: number; metrics: CheckpointMetrics; createdAt?: string } | undefined;
  /** Makes `next` the served generator (the callee owns `next.model` from then on); throws to refuse it. */
  swap(next: LoadedGenerator): Promise<void>;
}

export interface ServedChoice {
  /** Loaded and verified (the caller owns `model`); null when nothing loads. */
  generator: LoadedGenerator | null;
  /** Set when the manifest's checkpoint did not load and `fallback` is served instead. */
  problem?: { version?: string; reason: string; fallback: string };
  /** Why nothing loaded (no checkpoint yet, or none verifies). */
  reason?: string;
}

/** Loads the checkpoint this process should serve (see the module comment). */
export async function chooseServedCheckpoint(modelsDir: string, db: PrismaClient, log: Logger): Promise<ServedChoice> {
  try {
    return { generator: await loadGeneratorCheckpoint(modelsDir) };
  } catch (err) {
    const reason = (err as Error).message;
    const named = await readManifest(modelsDir).then(
      (m) => m.active ?? undefined,
      () => undefined,
    );
    // Never an unvetted candidate or a rejected one unless nothing else exists, and then the best
    // by quality, not the newest.
    const exclude = named ? [named] : [];
    const rows = await db.checkpoint
      .findMany({ where: { status: { in: ['active', 'retired'] } }, select: { version: true, status: true } })
      .catch(() => []);
    const served = new Set(rows.map((c) => c.version));
    // The one recorded active is what was served last (e.g. the target of a rollback, while the
    // manifest already names a checkpoint still being copied); "newest" would pick the checkpoint
    // rolled back from.
    const lastActive = new Set(rows.filter((c) => c.status === 'active').map((c) => c.version));
    const fallback =
      (lastActive.size
        ? await newestValidCheckpoint(modelsDir, { exclude, accept: (c) => lastActive.has(c.version) }).catch(
            () => undefined,
          )
        : undefined) ??
      (await newestValidCheckpoint(modelsDir, { exclude, accept: (c) => served.has(c.version) }).catch(
        () => undefined,
      )) ??
      (await newestValidCheckpoint(modelsDir, { exclude, order: 'best-quality' }).catch(() => undefined));
    if (fallback) {
      try {
        const generator = await loadGeneratorCheckpoint(modelsDir, fallback);
        log.warn(
          { unusable: named, reason, serving: fallback },
          `the active checkpoint ${named ?? '(manifest unreadable)'} does not load; serving ${fallback} instead ` +
            '(the last served one that verifies, else the best by quality) ' +
            '(fix with: npm run train -- --activate <version>)',
        );
        return { generator, problem: { version: named, reason, fallback } };
      } catch (err2) {
        log.warn({ reason: (err2 as Error).message, version: fallback }, 'fallback checkpoint does not load either');
      }
    }
    return { generator: null, reason };
  }
}

/**
 * The ServedModel of a process that trains but serves nobody (standalone trainer, shard manager):
 * it keeps the published checkpoint's metadata and frees the weights at once. A swap still means
 * the checkpoint loaded and verified (sha256, shapes) in this process before it is published.
 */
export class PublishedModel implements ServedModel {
  private info?: ServedModel['active'];

  get active(): ServedModel['active'] {
    return this.info;
  }

  async swap(next: LoadedGenerator): Promise<void> {
    next.model.dispose();
    this.info = {
      version: next.version,
      step: next.step,
      metrics: next.metrics ?? {},
      ...(next.createdAt ? { createdAt: next.createdAt } : {}),
    };
  }
}
