/**
 * The second data-parallel replica, in a worker thread with its own
 * TensorFlow.js backend (WASM under Node is single-threaded, so a second
 * thread with its own WASM instance is how the second core gets used).
 * Messages are defined in ./messages.ts (WorkerRequest / WorkerReply).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { tf, initTf, backendInfo } from '../../tf/index.ts';
import { GanTrainState, trainStep, type StepResult } from '../train-step.ts';
import { SharedReducer } from './allreduce.ts';
import {
  attachReducer,
  batchNormStats,
  restoreReplica,
  setBatchNormStats,
  snapshotReplica,
  type ReplicaHooks,
} from './replica.ts';
import type { WorkerData, WorkerReply, WorkerRequest } from './messages.ts';

const port = parentPort!;
const init = workerData as WorkerData;
const reply = (m: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

/** This thread's replica: its training state, the reducer it shares with replica 0, and its hooks. */
interface Replica {
  state: GanTrainState;
  reducer: SharedReducer;
  hooks: ReplicaHooks;
}

async function main(): Promise<void> {
  await initTf(init.backend);
  const replica = await createReplica();
  port.on('message', (msg: WorkerRequest) => {
    try {
      handle(replica, msg);
    } catch (err) {
      replica.reducer.abort();
      reply({ type: 'error', message: (err as Error).message, stack: (err as Error).stack });
    }
  });
  reply({ type: 'ready', backend: backendInfo()?.name ?? 'unknown' });
}

/** Models from the topologies replica 0 sent, restored to its snapshot, attached to the shared reducer. */
async function createReplica(): Promise<Replica> {
  const fromTopology = (t: unknown) =>
    tf.models.modelFromJSON({ modelTopology: t as tf.io.ModelJSON['modelTopology'] });
  const state = new GanTrainState(
    await fromTopology(init.generatorTopology),
    await fromTopology(init.discriminatorTopology),
    init.trainOptions,
  );
  state.replica = 1;
  restoreReplica(state, init.snapshot);
  const reducer = new SharedReducer(init.reducer, 1, init.timeoutMs);
  const hooks = attachReducer(state, reducer);
  return { state, reducer, hooks };
}

/** Carries out one request from replica 0 and replies. */
function handle(replica: Replica, msg: WorkerRequest): void {
  const { state, hooks } = replica;
  switch (msg.type) {
    case 'step':
      step(replica, msg);
      break;
    case 'sync':
      restoreReplica(state, msg.snapshot);
      reply({ type: 'synced' });
      break;
    case 'getBatchNormStats': {
      const stats = batchNormStats(state);
      reply(
        { type: 'batchNormStats', stats },
        stats.map((s) => s.buffer as ArrayBuffer),
      );
      break;
    }
    case 'setBatchNormStats':
      setBatchNormStats(state, msg.stats);
      reply({ type: 'synced' });
      break;
    case 'snapshot':
      reply({ type: 'snapshot', snapshot: snapshotReplica(state) });
      break;
    case 'close':
      hooks.detach();
      state.dispose();
      reply({ type: 'closed' });
      port.close();
      break;
  }
}

/**
 * One training step on this replica's share of the batch, with replica 0's options, counters and
 * running sums; the losses it reports (and adds to the running sums) are the all-reduced ones.
 */
function step({ state, reducer, hooks }: Replica, msg: Extract<WorkerRequest, { type: 'step' }>): void {
  hooks.weight = msg.weight;
  Object.assign(state.opts, msg.opts);
  state.running = { ...msg.running };
  state.step = msg.step;
  state.freezeCount = msg.freezeCount;
  const saved = { ...state.running };
  const real = tf.tensor4d(msg.real, msg.realShape);
  const z = tf.tensor2d(msg.z, msg.zShape);
  let r: StepResult;
  try {
    r = trainStep(state, real, z);
  } finally {
    tf.dispose([real, z]);
  }
  const [lossD, lossG, dReal, dFake] = reducer.reduceScalars([r.lossD, r.lossG, r.dReal, r.dFake], msg.weight);
  state.running = {
    lossDSum: saved.lossDSum + lossD,
    lossGSum: saved.lossGSum + lossG,
    count: saved.count + 1,
  };
  reply({
    type: 'stepDone',
    result: { lossD, lossG, dReal, dFake, frozen: r.frozen },
    numTensors: tf.memory().numTensors,
  });
}

main().catch((err: Error) => reply({ type: 'error', message: err.message, stack: err.stack }));
