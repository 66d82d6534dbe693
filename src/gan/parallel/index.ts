/**
 * Data-parallel DCGAN training on two cores: the training loop's thread and one
 * worker thread each hold a full replica (models + Adam state), each run the
 * same `trainStep` on half of every batch, and all-reduce the
 * gradients (batch-weighted mean) right before every optimiser update, so
 * both replicas apply the same update and stay identical.
 *
 * Why: the WASM backend runs single-threaded under Node (tfjs#3830), so a
 * second backend instance in a worker is the cheap way to use the second core.
 *
 * Semantics vs. a single-thread step on the full batch: batch norm normalises
 * each half with its own statistics (like PyTorch DDP without SyncBN); the
 * losses, D(x), D(G(z)) reported and used for freezing are batch-weighted means
 * over both halves; both replicas decide freezing identically. The main
 * replica's BN moving statistics (inference only) are estimated from its
 * halves; averageBatchNormStats() folds in the worker's (optional; calling it
 * changes the main state, so an exact-resume comparison must call it at the
 * same steps in both runs).
 *
 * Simplest use: createDataParallelStepper (./stepper.ts) as runTraining's stepFn.
 * Or directly (in the training process, after initTf):
 *   const par = await DataParallel.start(state);  // copies state to the worker (~1.5-6 s)
 *   r = await par.step(state, real, z);           // instead of trainStep(state, real, z)
 *   await par.sync(state);   // after changing weights/Adam outside step() (resume, restore)
 *   await par.close();
 * Counters (step, freezeCount, running means) and options are taken from the
 * main replica at every step, so resetting running means or changing options
 * on `state` needs no call.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { tf, backendInfo } from '../../tf/index.ts';
import { trainStep, type GanTrainState, type StepResult } from '../train-step.ts';
import { SharedReducer } from './allreduce.ts';
import {
  attachReducer,
  batchNormStats,
  setBatchNormStats,
  snapshotReplica,
  type ReplicaHooks,
  type ReplicaSnapshot,
} from './replica.ts';
import type { WorkerData, WorkerReply, WorkerRequest } from './messages.ts';

export interface DataParallelOptions {
  /** Backend of the worker replica (default: the active backend, which must be wasm or cpu). */
  backend?: 'wasm' | 'cpu';
  /** A replica waiting longer than this for the other one fails the step (default 120 s). */
  timeoutMs?: number;
}

/**
 * Spawns a worker running `entry` (a .ts module) through tsx's loader: worker
 * threads do not inherit `--import tsx` hooks under Node 20.
 */
function spawnTsWorker(entry: URL, workerData: unknown): Worker {
  const require = createRequire(import.meta.url);
  const api = pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const boot =
    `import(${JSON.stringify(api)})` +
    `.then((m) => m.tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(entry.href)}))` +
    `.catch((e) => { require('node:worker_threads').parentPort.postMessage({ type: 'error', message: String(e && e.stack || e) }); });`;
  return new Worker(boot, { eval: true, workerData });
}

export class DataParallel {
  private broken: Error | undefined;
  private pending: { resolve: (m: WorkerReply) => void; reject: (e: Error) => void } | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly reducer: SharedReducer,
    private readonly hooks: ReplicaHooks,
    /** The backend the worker replica runs on. */
    readonly workerBackend: string,
  ) {
    // Idle, the worker must not keep the process alive (a trainer that forgets
    // close() still exits); during a request it must (or Node could exit while
    // we await its reply).
    worker.unref();
    worker.on('message', (m: WorkerReply) => {
      const p = this.pending;
      this.pending = undefined;
      worker.unref();
      if (m.type === 'error') {
        this.broken ??= new Error(`training worker failed: ${m.message}`);
        p?.reject(this.broken);
      } else p?.resolve(m);
    });
    const fail = (e: Error) => {
      this.broken ??= e;
      this.reducer.abort();
      const p = this.pending;
      this.pending = undefined;
      p?.reject(this.broken);
    };
    worker.on('error', (e) => fail(new Error(`training worker crashed: ${e.message}`)));
    worker.on('exit', (code) => fail(new Error(`training worker exited (code ${code})`)));
  }

  /**
   * Starts the worker replica as a copy of `state` (weights, Adam, counters)
   * and hooks the all-reduce into `state`'s optimisers. Resolves once the
   * worker's backend is ready (a few seconds: WASM start-up + model build).
   */
  static async start(state: GanTrainState, opts: DataParallelOptions = {}): Promise<DataParallel> {
    const active = backendInfo()?.name;
    const backend = opts.backend ?? (active === 'wasm' || active === 'cpu' ? active : undefined);
    if (!backend) throw new Error(`data-parallel training needs the wasm or cpu backend (active: ${active ?? 'none'})`);
    const capacity = Math.max(
      ...[state.optG.vars, state.optD.vars].map((vs) => vs.reduce((n, v) => n + v.size, 0)),
      16,
    );
    const init = SharedReducer.allocate(capacity);
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const data: WorkerData = {
      backend,
      generatorTopology: state.generator.toJSON(undefined, false),
      discriminatorTopology: state.discriminator.toJSON(undefined, false),
      trainOptions: state.opts,
      snapshot: snapshotReplica(state),
      reducer: init,
      timeoutMs,
    };
    const worker = spawnTsWorker(new URL('./replica-worker.ts', import.meta.url), data);
    const ready = await new Promise<WorkerReply>((resolve, reject) => {
      const onMsg = (m: WorkerReply) => {
        worker.off('error', onErr);
        worker.off('exit', onExit);
        if (m.type === 'error') reject(new Error(`training worker failed to start: ${m.message}`));
        else resolve(m);
      };
      const onErr = (e: Error) => reject(new Error(`training worker failed to start: ${e.message}`));
      const onExit = (code: number) => reject(new Error(`training worker exited during start-up (code ${code})`));
      worker.once('message', onMsg);
      worker.once('error', onErr);
      worker.once('exit', onExit);
    }).catch(async (e) => {
      await worker.terminate();
      throw e;
    });
    const reducer = new SharedReducer(init, 0, timeoutMs);
    const hooks = attachReducer(state, reducer);
    return new DataParallel(worker, reducer, hooks, ready.type === 'ready' ? ready.backend : backend);
  }

  private request(msg: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.pending) return Promise.reject(new Error('DataParallel: one request at a time'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.ref();
      this.worker.postMessage(msg, transfer);
    });
  }

  /**
   * One data-parallel training step; same contract as trainStep(state, real, z):
   * `real` [B,H,W,C] in [-1,1] and `z` [B,nz] (B >= 2) are not disposed.
   * This thread trains on the first ceil(B/2) images, the worker on the rest.
   * Returns the batch-weighted mean figures (identical on both replicas).
   */
  async step(state: GanTrainState, real: tf.Tensor4D, z: tf.Tensor2D): Promise<StepResult> {
    if (this.broken) throw this.broken;
    const B = real.shape[0];
    if (B < 2 || z.shape[0] !== B)
      throw new Error(
        `data-parallel step needs a batch of at least 2 with as many latents (got ${B} images, ${z.shape[0]} latents)`,
      );
    const b0 = Math.ceil(B / 2);
    const b1 = B - b0;
    const w0 = b0 / B;
    const [r0, r1] = tf.split(real, [b0, b1]);
    const [z0, z1] = tf.split(z, [b0, b1]);
    const realHalf = (r1.dataSync() as Float32Array).slice();
    const zHalf = (z1.dataSync() as Float32Array).slice();
    tf.dispose([r1, z1]);
    const done = this.request(
      {
        type: 'step',
        real: realHalf,
        realShape: [b1, real.shape[1], real.shape[2], real.shape[3]],
        z: zHalf,
        zShape: [b1, z.shape[1]],
        weight: 1 - w0,
        running: { ...state.running },
        step: state.step,
        freezeCount: state.freezeCount,
        opts: { ...state.opts },
      },
      [realHalf.buffer, zHalf.buffer],
    );
    done.catch(() => {}); // observed below; avoid an unhandled rejection while we compute
    this.hooks.weight = w0;
    const saved = { ...state.running };
    try {
      const r = trainStep(state, r0 as tf.Tensor4D, z0 as tf.Tensor2D);
      const [lossD, lossG, dReal, dFake] = this.reducer.reduceScalars([r.lossD, r.lossG, r.dReal, r.dFake], w0);
      state.running = { lossDSum: saved.lossDSum + lossD, lossGSum: saved.lossGSum + lossG, count: saved.count + 1 };
      await done;
      return { lossD, lossG, dReal, dFake, frozen: r.frozen };
    } catch (e) {
      this.reducer.abort();
      this.broken ??= e as Error;
      throw e;
    } finally {
      tf.dispose([r0, z0]);
    }
  }

  /** Copies `state` (weights, BN statistics, Adam, counters) to the worker replica. */
  async sync(state: GanTrainState): Promise<void> {
    await this.request({ type: 'sync', snapshot: snapshotReplica(state) });
  }

  /**
   * Averages the BN moving statistics of both replicas into both (each replica
   * only saw its half of every batch). Call before checkpointing or evaluating.
   */
  async averageBatchNormStats(state: GanTrainState): Promise<void> {
    const reply = await this.request({ type: 'getBatchNormStats' });
    if (reply.type !== 'batchNormStats') throw new Error(`unexpected worker reply ${reply.type}`);
    const mine = batchNormStats(state);
    const avg = mine.map((m, i) => {
      const o = reply.stats[i];
      const r = new Float32Array(m.length);
      for (let j = 0; j < m.length; j++) r[j] = 0.5 * m[j] + 0.5 * o[j];
      return r;
    });
    setBatchNormStats(state, avg);
    await this.request({ type: 'setBatchNormStats', stats: avg });
  }

  /** The worker replica's full state (tests check that replicas stay identical). */
  async workerSnapshot(): Promise<ReplicaSnapshot> {
    const reply = await this.request({ type: 'snapshot' });
    if (reply.type !== 'snapshot') throw new Error(`unexpected worker reply ${reply.type}`);
    return reply.snapshot;
  }

  /** Stops the worker and removes the optimiser hooks from `state`. */
  async close(): Promise<void> {
    this.hooks.detach();
    if (!this.broken) {
      try {
        await this.request({ type: 'close' });
      } catch {
        /* terminating anyway */
      }
    }
    this.broken ??= new Error('DataParallel is closed');
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}
