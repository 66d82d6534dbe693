/**
 * The messages between the two data-parallel replicas: what the main thread
 * (src/gan/parallel/index.ts) passes to the worker at start and sends it, and
 * what the worker (replica-worker.ts) replies. Everything is postMessage-able
 * (plain objects and typed arrays; big arrays are transferred).
 */
import type { RunningMeans, StepResult } from '../train-step.ts';
import type { TrainOptions } from '../recipe.ts';
import type { SharedReducerInit } from './allreduce.ts';
import type { ReplicaSnapshot } from './replica.ts';

/** Passed to the worker at start. */
export interface WorkerData {
  backend: 'wasm' | 'cpu';
  /** Layers topologies (model.toJSON) of the generator and discriminator: the worker rebuilds exactly these. */
  generatorTopology: unknown;
  discriminatorTopology: unknown;
  trainOptions: TrainOptions;
  snapshot: ReplicaSnapshot;
  reducer: SharedReducerInit;
  timeoutMs: number;
}

export type WorkerRequest =
  | {
      type: 'step';
      real: Float32Array;
      realShape: [number, number, number, number];
      z: Float32Array;
      zShape: [number, number];
      weight: number;
      /** The main replica's counters and options are authoritative; the worker copies them every step. */
      running: RunningMeans;
      step: number;
      freezeCount: number;
      opts: TrainOptions;
    }
  | { type: 'sync'; snapshot: ReplicaSnapshot }
  | { type: 'getBatchNormStats' }
  | { type: 'setBatchNormStats'; stats: Float32Array[] }
  | { type: 'snapshot' }
  | { type: 'close' };

export type WorkerReply =
  | { type: 'ready'; backend: string }
  | { type: 'stepDone'; result: StepResult; numTensors: number }
  | { type: 'synced' }
  | { type: 'batchNormStats'; stats: Float32Array[] }
  | { type: 'snapshot'; snapshot: ReplicaSnapshot }
  | { type: 'closed' }
  | { type: 'error'; message: string; stack?: string };
