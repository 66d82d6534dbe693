/**
 * Making a checkpoint the active one, in the process that holds the trainer lease: the quality gate
 * for a run's checkpoint (worse than the active one by more than `qualityMargin` -> `rejected`), the
 * hot-swap into what this process serves (warm-up first), manifest.json (so every other process
 * follows) and the Checkpoint rows. Also an admin's rollback, and swaps made by someone else
 * (manifest changed by the CLI), which are recorded the same way.
 */
import type { Logger } from 'pino';
import type { PrismaClient } from '../db/client.ts';
import { setCheckpointStatus, upsertCheckpoint } from '../db/training.ts';
import { listCheckpoints, setActiveCheckpoint } from '../gan/catalogue.ts';
import { loadGeneratorCheckpoint, readCheckpointMeta, type LoadedGenerator } from '../gan/checkpoint-load.ts';
import { readManifest } from '../gan/manifest.ts';
import { type CheckpointMetrics } from '../gan/quality.ts';
import type { TrainerToBot } from '../gan/protocol.ts';
import { qualityVerdict } from './quality-gate.ts';
import type { ServedModel } from './served.ts';

export interface SwapEvent {
  version: string;
  previous?: string;
  accepted: boolean;
  reason: string;
}

export interface ActivationOptions {
  modelsDir: string;
  db: PrismaClient;
  served: ServedModel;
  log: Logger;
  qualityMargin: number;
  /** Told about every decision (accepted or not). */
  onSwap: (swap: SwapEvent) => void;
}

export class Activation {
  private activating = 0;
  private last?: SwapEvent;

  constructor(private readonly opts: ActivationOptions) {}

  /** True while a swap is in progress (the manifest and the served version may differ meanwhile). */
  get busy(): boolean {
    return this.activating > 0;
  }
  get lastSwap(): SwapEvent | undefined {
    return this.last;
  }

  /** Quality gate + hot-swap for a checkpoint a run reported. Returns a short description of the outcome. */
  async considerCheckpoint(m: Extract<TrainerToBot, { type: 'checkpoint' }>): Promise<string> {
    const { db, log, modelsDir, served } = this.opts;
    const previous = served.active;
    let candidateMetrics: CheckpointMetrics = m.metrics ?? {};
    try {
      // The checkpoint's own file is authoritative (the trainer may evaluate after reporting).
      candidateMetrics = { ...candidateMetrics, ...(await readCheckpointMeta(modelsDir, m.version)).metrics };
    } catch {
      /* keep what the message said */
    }
    const verdict = qualityVerdict(candidateMetrics, previous?.metrics, this.opts.qualityMargin);
    await upsertCheckpoint(db, {
      version: m.version,
      step: m.step,
      kid: candidateMetrics.kid ?? null,
      fid: candidateMetrics.fid ?? null,
      sneakerShare: candidateMetrics.sneakerShare ?? null,
      status: verdict.accept ? 'candidate' : 'rejected',
      note: verdict.reason,
    });
    if (!verdict.accept) {
      // The trainer may have pointed the manifest at its result already: point it back.
      const manifest = await readManifest(modelsDir).catch(() => undefined);
      if (previous && manifest?.active === m.version)
        await setActiveCheckpoint(modelsDir, previous.version, { verify: false });
      log.warn({ version: m.version, reason: verdict.reason }, 'checkpoint rejected by the quality gate');
      this.told({ version: m.version, previous: previous?.version, accepted: false, reason: verdict.reason });
      return `rejected: ${verdict.reason}`;
    }
    await this.activate(m.version, verdict.reason);
    return `activated: ${verdict.reason}`;
  }

  /** Loads `version`, swaps it in (warm-up first), names it in the manifest, records it as active. */
  async activate(version: string, reason: string): Promise<void> {
    const { db, log, modelsDir, served } = this.opts;
    const previous = served.active?.version;
    this.activating++;
    let loaded: LoadedGenerator;
    try {
      loaded = await loadGeneratorCheckpoint(modelsDir, version);
      try {
        await served.swap(loaded);
      } catch (err) {
        loaded.model.dispose();
        throw err;
      }
      // An admin's rollback to a checkpoint the gate once rejected is a deliberate choice: the row
      // stops saying "rejected" BEFORE the manifest names it, so other processes follow it.
      const row = await db.checkpoint.findUnique({ where: { version } });
      if (row?.status === 'rejected') await setCheckpointStatus(db, version, 'candidate');
      await setActiveCheckpoint(modelsDir, version, { verify: false });
    } finally {
      this.activating--;
    }
    await this.recordActive(loaded, reason);
    log.info({ version, previous, reason }, 'hot-swapped to the new checkpoint');
    this.told({ version, previous, accepted: true, reason });
  }

  /** Rolls back to `version` (default: the newest usable checkpoint older than the active one). Returns the version now active. */
  async rollback(version?: string): Promise<string> {
    const all = (await listCheckpoints(this.opts.modelsDir)).filter((c) => !c.error);
    const active = this.opts.served.active?.version;
    let target = version;
    if (!target) {
      const idx = all.findIndex((c) => c.version === active);
      const older = (idx >= 0 ? all.slice(0, idx) : all.filter((c) => c.version !== active)).reverse();
      target = older[0]?.version;
      if (!target) throw new Error('there is no earlier checkpoint to roll back to');
    } else if (!all.some((c) => c.version === target)) {
      throw new Error(`no usable checkpoint named ${target}`);
    }
    if (target === active) return target;
    await this.activate(target, 'rollback by an admin');
    return target;
  }

  /** Records a checkpoint activated outside this process (manifest changed by the CLI) as active. */
  async recordExternal(version: string, previous: string | undefined): Promise<void> {
    const active = this.opts.served.active;
    if (active?.version === version) await this.recordActive(active, 'activated with the CLI');
    this.told({ version, previous, accepted: true, reason: 'manifest.json changed outside the bot (CLI)' });
  }

  /** Records a checkpoint now served as the active one in the database (creating its row if new). */
  async recordActive(
    ck: { version: string; step: number; metrics: { kid?: number; fid?: number; sneakerShare?: number } },
    note?: string,
  ): Promise<void> {
    const { db } = this.opts;
    const m = ck.metrics;
    const existing = await db.checkpoint.findUnique({ where: { version: ck.version } });
    if (!existing) {
      await upsertCheckpoint(db, {
        version: ck.version,
        step: ck.step,
        kid: m.kid ?? null,
        fid: m.fid ?? null,
        sneakerShare: m.sneakerShare ?? null,
        ...(note ? { note } : {}),
      });
    }
    if (existing?.status !== 'active') await setCheckpointStatus(db, ck.version, 'active');
  }

  private told(swap: SwapEvent): void {
    this.last = swap;
    this.opts.onSwap(swap);
  }
}
