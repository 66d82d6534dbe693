/**
 * What /train status shows about the trainer, as one plain JSON object. The lease holder builds it
 * from its TrainingScheduler and publishes it in TrainerLease.snapshot; a bot that does not hold the
 * lease reads it back. The holder's own /train status renders the same object (built fresh), so a
 * status looks the same whichever process answers.
 */
import type { CheckpointMetrics } from '../gan/quality.ts';
import type { TrainProgress } from '../gan/protocol.ts';
import type { SwapEvent } from './activation.ts';
import type { LastRunInfo } from './run-record.ts';
import type { SchedulerState, TrainingScheduler } from './scheduler.ts';

export const SNAPSHOT_VERSION = 1;
/** Loss points a published snapshot carries at most (the plot needs no more; keeps the row small). */
export const SNAPSHOT_HISTORY_POINTS = 400;

export interface TrainerSnapshot {
  v: number;
  /** 'offline': the holder released the lease (shut down). */
  state: SchedulerState | 'offline';
  host: string;
  pid: number;
  ownerId: string;
  mode: string;
  /** The holder's heartbeat interval (readers judge staleness by 3x this). */
  heartbeatMs?: number;
  publishedAt: string;
  /** TensorFlow.js backend of the trainer's process (label, reason). */
  backend?: { label: string; reason: string };
  cron: string;
  nextRun: string | null;
  /** The checkpoint the trainer's side considers active (compares candidates against it). */
  active?: { version: string; step: number; metrics: CheckpointMetrics; createdAt?: string };
  run?: {
    runId: number;
    trigger: string;
    startedAt: number;
    steps: number;
    backend?: string;
    progress?: TrainProgress;
    config?: Record<string, unknown>;
  };
  /** Loss points of the run in progress (downsampled for publishing). */
  history: { step: number; lossD: number; lossG: number }[];
  lastRun?: LastRunInfo;
  lastSwap?: SwapEvent;
  datasetProblem?: string;
}

/** Keeps at most `max` points, always the last one, evenly spaced otherwise. */
export function downsample<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points.slice();
  const out: T[] = [];
  const stride = (points.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(points[Math.round(i * stride)]);
  return out;
}

/** Who publishes a snapshot: the lease holder's identity and schedule. */
export interface SnapshotSource {
  host: string;
  ownerId: string;
  mode: string;
  cron: string;
  heartbeatMs?: number;
  backend?: { label: string; reason: string };
}

/** The scheduler's state as a snapshot. `historyPoints` limits the loss history (default: all). */
export function buildSnapshot(
  scheduler: TrainingScheduler,
  who: SnapshotSource,
  opts: { historyPoints?: number; state?: TrainerSnapshot['state'] } = {},
): TrainerSnapshot {
  const run = scheduler.currentRun;
  const active = scheduler.servedModel.active;
  const datasetProblem = scheduler.datasetProblem();
  return {
    v: SNAPSHOT_VERSION,
    state: opts.state ?? scheduler.state,
    host: who.host,
    pid: process.pid,
    ownerId: who.ownerId,
    mode: who.mode,
    ...(who.heartbeatMs ? { heartbeatMs: who.heartbeatMs } : {}),
    publishedAt: new Date().toISOString(),
    ...(who.backend ? { backend: who.backend } : {}),
    cron: who.cron,
    nextRun: scheduler.nextRun()?.toISOString() ?? null,
    ...(active
      ? {
          active: {
            version: active.version,
            step: active.step,
            metrics: active.metrics,
            ...(active.createdAt ? { createdAt: active.createdAt } : {}),
          },
        }
      : {}),
    ...(run
      ? {
          run: {
            runId: run.runId,
            trigger: run.trigger,
            startedAt: run.startedAt,
            steps: run.steps,
            ...(run.backend ? { backend: run.backend } : {}),
            ...(run.progress ? { progress: run.progress } : {}),
            ...(run.config ? { config: run.config } : {}),
          },
        }
      : {}),
    history: run ? (opts.historyPoints ? downsample(run.history, opts.historyPoints) : run.history.slice()) : [],
    ...(scheduler.lastRun ? { lastRun: scheduler.lastRun } : {}),
    ...(scheduler.lastSwapEvent ? { lastSwap: scheduler.lastSwapEvent } : {}),
    ...(datasetProblem ? { datasetProblem } : {}),
  };
}

/** Parses a published snapshot; undefined when empty or not one of ours. */
export function parseSnapshot(text: string | null | undefined): TrainerSnapshot | undefined {
  if (!text) return undefined;
  try {
    const s = JSON.parse(text) as TrainerSnapshot;
    return s && typeof s === 'object' && s.v === SNAPSHOT_VERSION && typeof s.state === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}
