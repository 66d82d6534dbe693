/**
 * Data-parallel training as a drop-in for trainStep (runTraining's `stepFn`):
 * starts the worker replica (src/gan/parallel/index.ts) lazily on the first
 * step, from the state that step sees (after any resume).
 */
import type { tf } from '../../tf/index.ts';
import type { GanTrainState, StepResult } from '../train-step.ts';
import { DataParallel, type DataParallelOptions } from './index.ts';

/** A runTraining `stepFn` running data-parallel, started lazily on the first step. */
export interface DataParallelStepper {
  /** Pass as runTraining's `stepFn`. Same contract as trainStep; needs batch >= 2. */
  stepFn: (state: GanTrainState, real: tf.Tensor4D, z: tf.Tensor2D) => Promise<StepResult>;
  /** Averages BN statistics of both replicas into `state` (optional, before a checkpoint). */
  averageBatchNormStats(state: GanTrainState): Promise<void>;
  /** Stops the worker (call when training ends, also on errors). */
  close(): Promise<void>;
}

/**
 * Data-parallel training as a drop-in for trainStep: the worker replica is
 * started from the state the first step sees (after any resume), and
 * restarted if a later step brings a different state object.
 *
 *   const dp = createDataParallelStepper();
 *   try { await runTraining({ ...opts, stepFn: dp.stepFn }); } finally { await dp.close(); }
 */
export function createDataParallelStepper(opts: DataParallelOptions = {}): DataParallelStepper {
  let par: DataParallel | undefined;
  let owner: GanTrainState | undefined;
  return {
    async stepFn(state, real, z) {
      if (par && owner !== state) {
        await par.close();
        par = undefined;
      }
      if (!par) {
        par = await DataParallel.start(state, opts);
        owner = state;
      }
      return par.step(state, real, z);
    },
    async averageBatchNormStats(state) {
      if (par && owner === state) await par.averageBatchNormStats(state);
    },
    async close() {
      await par?.close();
      par = undefined;
      owner = undefined;
    },
  };
}
