/**
 * What both data-parallel replicas share: copying a training state between
 * threads, and hooking the all-reduce into the optimisers.
 */
import { tf } from '../../tf/index.ts';
import type { GanTrainState, RunningMeans } from '../train-step.ts';
import type { Adam, AdamSnapshot } from '../adam.ts';
import type { SharedReducer } from './allreduce.ts';

/** Everything that must be equal on both replicas, as plain arrays (postMessage-able). */
export interface ReplicaSnapshot {
  generator: Float32Array[];
  discriminator: Float32Array[];
  optG: AdamSnapshot;
  optD: AdamSnapshot;
  running: RunningMeans;
  step: number;
  freezeCount: number;
}

function weightsOf(model: tf.LayersModel): Float32Array[] {
  // slice(): the CPU backend hands out its own buffer; never share it.
  return model.getWeights().map((w) => (w.dataSync() as Float32Array).slice());
}

function setWeightsOf(model: tf.LayersModel, values: Float32Array[]): void {
  const current = model.getWeights();
  if (values.length !== current.length)
    throw new Error(`replica sync: ${values.length} weight arrays for ${current.length} weights`);
  const tensors = values.map((v, i) => tf.tensor(v, current[i].shape));
  model.setWeights(tensors);
  tf.dispose(tensors);
}

function copyAdam(s: AdamSnapshot): AdamSnapshot {
  return { t: s.t, m: s.m.map((x) => x.slice()), v: s.v.map((x) => x.slice()) };
}

/** Full copy of a training state (weights incl. BN statistics, Adam, freezing counters). */
export function snapshotReplica(state: GanTrainState): ReplicaSnapshot {
  return {
    generator: weightsOf(state.generator),
    discriminator: weightsOf(state.discriminator),
    optG: copyAdam(state.optG.snapshot()),
    optD: copyAdam(state.optD.snapshot()),
    running: { ...state.running },
    step: state.step,
    freezeCount: state.freezeCount,
  };
}

/** Overwrites `state` with a snapshot taken on the other replica. */
export function restoreReplica(state: GanTrainState, s: ReplicaSnapshot): void {
  setWeightsOf(state.generator, s.generator);
  setWeightsOf(state.discriminator, s.discriminator);
  state.optG.restore(s.optG);
  state.optD.restore(s.optD);
  state.running = { ...s.running };
  state.step = s.step;
  state.freezeCount = s.freezeCount;
}

/** Non-trainable weights (BN moving mean/variance) of both models, in model order. */
export function batchNormStats(state: GanTrainState): Float32Array[] {
  const pick = (m: tf.LayersModel) => m.nonTrainableWeights.map((w) => (w.read().dataSync() as Float32Array).slice());
  return [...pick(state.generator), ...pick(state.discriminator)];
}

/** Sets the non-trainable weights from `batchNormStats` order. */
export function setBatchNormStats(state: GanTrainState, values: Float32Array[]): void {
  const ws = [...state.generator.nonTrainableWeights, ...state.discriminator.nonTrainableWeights];
  if (ws.length !== values.length) throw new Error(`replica sync: ${values.length} BN arrays for ${ws.length} weights`);
  tf.tidy(() => ws.forEach((w, i) => w.write(tf.tensor(values[i], w.shape as number[]))));
}

/** Per-step weight of this replica in the all-reduce (its share of the batch). */
export interface ReplicaHooks {
  weight: number;
  /** Undo the optimiser hooks. */
  detach(): void;
}

/**
 * Makes both optimisers all-reduce their gradients before updating: the
 * gradient tensors (computed on this replica's share of the batch) are
 * replaced by the batch-weighted mean over both replicas. trainStep calls
 * optD.apply (unless frozen, decided identically on both) then optG.apply,
 * so both replicas reduce in the same order.
 */
export function attachReducer(state: GanTrainState, reducer: SharedReducer): ReplicaHooks {
  const hooks: ReplicaHooks = { weight: 0.5, detach: () => {} };
  const wrap = (opt: Adam) => {
    const own = Object.getOwnPropertyDescriptor(opt, 'apply');
    const orig = opt.apply.bind(opt);
    opt.apply = (grads: tf.Tensor[]) => {
      const local = grads.map((g) => g.dataSync() as Float32Array);
      const mean = reducer.reduce(local, hooks.weight);
      const tensors = mean.map((m, i) => tf.tensor(m, grads[i].shape));
      try {
        orig(tensors);
      } finally {
        tf.dispose(tensors);
      }
    };
    return () => {
      if (own) Object.defineProperty(opt, 'apply', own);
      else delete (opt as { apply?: unknown }).apply;
    };
  };
  const undoD = wrap(state.optD);
  const undoG = wrap(state.optG);
  hooks.detach = () => {
    undoD();
    undoG();
  };
  return hooks;
}
