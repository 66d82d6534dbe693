/**
 * How the bot and its commands talk to training: one interface (status, run, stop, rollback) with
 * two implementations. LocalTraining drives this process's scheduler (it holds the trainer lease,
 * or has no lease to care about); RemoteTraining goes through the database to whichever process
 * holds the lease (it reads the published snapshot and queues requests the holder carries out).
 * The lease holder executes those requests through a LocalTraining too, so an admin reads the
 * same answers wherever the trainer runs.
 */
import type { TrainerSnapshot } from './snapshot.ts';

/**
 * The answer to run/stop/rollback: `done`, or why not (`refused`: nothing happened; `failed`: it
 * went wrong), or `queued` (the trainer has not answered within a few seconds). `message` is what
 * the admin reads.
 */
export interface ControlResult {
  outcome: 'done' | 'refused' | 'failed' | 'queued';
  message: string;
}

/** The lease holder as seen through the database (its TrainerLease row), by a process that does not hold the lease. */
export interface RemoteTrainerStatus {
  /** No lease row: no trainer ever ran against this database. */
  never: boolean;
  /** A holder heartbeats (judged by the wall clocks: for display only). */
  alive: boolean;
  /** The lease was released (clean shutdown). */
  released: boolean;
  ownerId: string;
  host: string;
  heartbeatAt?: Date;
  /** Now minus the last heartbeat, ms (the holder's clock vs ours). */
  ageMs?: number;
  /**
   * The heartbeat looked old by the clocks but was seen changing: the two machines' clocks
   * differ (by about ageMs). The holder is alive.
   */
  clockSkew?: boolean;
  snapshot?: TrainerSnapshot;
}

/** What /train status renders: the trainer's snapshot, and where it runs when that is elsewhere. */
export interface TrainingStatus {
  snapshot?: TrainerSnapshot;
  /** Set by RemoteTraining: the lease holder as seen through the database. */
  remote?: RemoteTrainerStatus;
}

export interface TrainingControl {
  /** 'remote' answers may take a few seconds (a request waits for the holder). */
  readonly where: 'local' | 'remote';
  status(): Promise<TrainingStatus>;
  /** Starts a run of `steps` (default TRAIN_STEPS), continuing from the served checkpoint. */
  run(steps: number | undefined, requestedBy: string): Promise<ControlResult>;
  /** Asks the run in progress to stop after writing its checkpoint. */
  stop(requestedBy: string): Promise<ControlResult>;
  /** Switches to `version` (default: the checkpoint before the active one). */
  rollback(version: string | undefined, requestedBy: string): Promise<ControlResult>;
}

/** What an admin is told when a run starts (locally or through a request). */
export function runStartedMessage(steps: number, from: string | undefined, host?: string): string {
  return `Training started (${steps} steps, continuing from \`${from ?? 'scratch'}\`)${host ? ` on the trainer at \`${host}\`` : ''}. Follow it with \`/train status\`.`;
}
export const STOPPING_MESSAGE = 'Stopping: the trainer finishes its step and writes a checkpoint.';
export const NO_RUN_MESSAGE = 'No training run is going.';

/**
 * The control that answers now, for a process whose role can change: local while it holds the
 * trainer lease (`holding`), else remote; undefined when training is disabled here.
 */
export function routeTraining(parts: {
  local?: TrainingControl;
  remote?: TrainingControl;
  holding?: () => boolean;
}): () => TrainingControl | undefined {
  return () => (parts.local && (!parts.holding || parts.holding()) ? parts.local : parts.remote);
}
