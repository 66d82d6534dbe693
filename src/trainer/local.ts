/**
 * TrainingControl over this process's scheduler (see control.ts). Used by /train in the process
 * that holds the trainer lease, and by that process to carry out requests queued by others.
 */
import os from 'node:os';
import { backendInfo } from '../tf/index.ts';
import type { Config } from '../config/env.ts';
import {
  NO_RUN_MESSAGE,
  STOPPING_MESSAGE,
  runStartedMessage,
  type ControlResult,
  type TrainingControl,
  type TrainingStatus,
} from './control.ts';
import type { TrainingScheduler } from './scheduler.ts';
import { buildSnapshot, type SnapshotSource } from './snapshot.ts';

export interface LocalTrainingOptions {
  scheduler: TrainingScheduler;
  config: Config;
  /** Who publishes (the lease service's identity); default this host, no owner. */
  source?: () => Pick<SnapshotSource, 'host' | 'ownerId'>;
  /** Named in "Training started … on the trainer at `host`" (requests from other processes). */
  announceHost?: string;
}

export class LocalTraining implements TrainingControl {
  readonly where = 'local' as const;

  constructor(private readonly opts: LocalTrainingOptions) {}

  get scheduler(): TrainingScheduler {
    return this.opts.scheduler;
  }

  /** The scheduler's state, built fresh (full loss history). */
  async status(): Promise<TrainingStatus> {
    const { config } = this.opts;
    const b = backendInfo();
    const who = this.opts.source?.() ?? { host: os.hostname(), ownerId: '' };
    const snapshot = buildSnapshot(this.opts.scheduler, {
      ...who,
      mode: config.TRAINER_MODE,
      cron: config.TRAIN_CRON,
      ...(b ? { backend: { label: b.label, reason: b.reason } } : {}),
    });
    return { snapshot };
  }

  async run(steps: number | undefined): Promise<ControlResult> {
    const scheduler = this.opts.scheduler;
    const from = scheduler.servedModel.active?.version;
    const r = await scheduler.startRun('admin', steps);
    if (!r.started)
      return { outcome: 'refused', message: `Not started: ${r.reason}.${r.noDataset ? '' : ' See `/train status`.'}` };
    return {
      outcome: 'done',
      message: runStartedMessage(steps ?? this.opts.config.TRAIN_STEPS, from, this.opts.announceHost),
    };
  }

  async stop(): Promise<ControlResult> {
    return this.opts.scheduler.requestStop()
      ? { outcome: 'done', message: STOPPING_MESSAGE }
      : { outcome: 'refused', message: NO_RUN_MESSAGE };
  }

  async rollback(version: string | undefined): Promise<ControlResult> {
    try {
      const now = await this.opts.scheduler.rollback(version);
      return { outcome: 'done', message: `Active checkpoint is now \`${now}\`.` };
    } catch (err) {
      return { outcome: 'failed', message: `Rollback failed: ${(err as Error).message}` };
    }
  }
}
