/**
 * The typed message protocol between the bot (parent) and a trainer child
 * process (forked with an IPC channel). One small vocabulary, both directions.
 */

/** Figures for one logging window of training. */
export interface TrainProgress {
  type: 'progress';
  step: number;
  /** Step at which this run will stop. */
  targetStep: number;
  /** Steps done in this run so far / steps this run will do. */
  runStepsDone: number;
  runStepsTotal: number;
  lossD: number;
  lossG: number;
  /** Mean D(x) and D(G(z)) (probabilities) over the window. */
  dReal: number;
  dFake: number;
  /** Share of steps in the window whose D update was skipped by freezing (0..1). */
  freezeRate: number;
  imagesPerSecond: number;
  etaSeconds: number;
}

export type TrainerToBot =
  | { type: 'started'; runStartStep: number; targetStep: number; backend: string; config: Record<string, unknown> }
  | TrainProgress
  | {
      type: 'checkpoint';
      version: string;
      /** Absolute path of the checkpoint directory (already renamed into place). */
      dir: string;
      step: number;
      metrics: { kid?: number; fid?: number; sneakerShare?: number };
    }
  | {
      type: 'done';
      stopped: boolean;
      steps: number;
      freezeCount: number;
      imagesPerSecond: number;
      lossD: number;
      lossG: number;
    }
  | { type: 'error'; message: string };

export type BotToTrainer =
  /** Stop at the next step boundary, write a consistent checkpoint, then exit. */
  { type: 'stop' };

export function isTrainerMessage(m: unknown): m is TrainerToBot {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
