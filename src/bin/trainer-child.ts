/**
 * Entry of the trainer child process the bot forks (child_process.fork with
 * execArgv ['--import', 'tsx'] and an IPC channel). Speaks src/gan/protocol.ts:
 * sends started / progress / checkpoint / done, or error; handles {type:'stop'}
 * (stop at the next step boundary, write a consistent checkpoint, exit 0).
 *
 * Takes the same flags as `npm run train` (default --steps: TRAIN_STEPS).
 * Continues from the active checkpoint when there is one (from scratch with
 * the flags' architecture otherwise); if the active one does not verify, from
 * the newest checkpoint that does. Each run reseeds the latent-noise and
 * data-order RNGs (--seed, else a random seed, reported as `runSeed` in
 * `started` and stored in the checkpoint), so consecutive runs differ. Unlike the CLI it does NOT activate the
 * new checkpoint by default: the bot applies its quality gate and hot-swaps
 * (pass --activate-result to make it activate anyway). Quality metrics are
 * computed for the new checkpoint unless --no-eval.
 *
 * Also stops cleanly (with a checkpoint) on SIGTERM/SIGINT and when the parent
 * disappears (IPC disconnect). Exit codes: 0 done or stopped, 1 error, 2 bad flags.
 */
import crypto from 'node:crypto';
import { config } from '../config/env.ts';
import { createLogger } from '../log.ts';
import { initTf } from '../tf/index.ts';
import { resolveDatasetDir } from '../data/dataset.ts';
import { chooseResumeCheckpoint } from '../gan/catalogue.ts';
import { runTraining, threadingHooks } from '../gan/training-loop.ts';
import { runDatasetName } from '../gan/manifest.ts';
import type { BotToTrainer, TrainerToBot } from '../gan/protocol.ts';
import { parseTrainArgs, UsageError } from './train-args.ts';

function send(m: TrainerToBot): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) {
      // Run by hand without IPC: one JSON line per message on stdout.
      process.stdout.write(JSON.stringify(m) + '\n');
      resolve();
      return;
    }
    process.send(m, undefined, {}, () => resolve());
  });
}

/** Stops cleanly at the next step on the scheduler's {type:'stop'}, SIGTERM/SIGINT, or when the parent disappears. */
function stopRequests(logger: ReturnType<typeof createLogger>): () => boolean {
  let stop = false;
  const requestStop = (why: string) => () => {
    if (!stop) logger.info({ why }, 'stop requested: finishing the step and writing a checkpoint');
    stop = true;
  };
  process.on('message', (m: BotToTrainer) => {
    if (m && typeof m === 'object' && m.type === 'stop') requestStop('stop message')();
  });
  process.on('disconnect', requestStop('parent disconnected'));
  process.on('SIGTERM', requestStop('SIGTERM'));
  process.on('SIGINT', requestStop('SIGINT'));
  return () => stop;
}

/** A named version as is; otherwise the active one, or the newest valid one if it is corrupted. */
async function resumeFrom(named: string | boolean, modelsDir: string, logger: ReturnType<typeof createLogger>) {
  if (typeof named === 'string') return { resume: named as string | undefined, skipped: undefined };
  const choice = await chooseResumeCheckpoint(modelsDir);
  if (choice.warning) logger.warn({ skipped: choice.skipped, fallback: choice.version ?? null }, choice.warning);
  return { resume: choice.version, skipped: choice.skipped };
}

/** The 'started' message: where the run starts and ends, and the whole recipe (for /train status). */
function startedMessage(s: StartedInfo, backend: string, runSeed: number, skipped: string | undefined): TrainerToBot {
  return {
    type: 'started',
    runStartStep: s.runStartStep,
    targetStep: s.targetStep,
    backend,
    config: {
      ...s.config,
      ...s.trainOptions,
      runSeed,
      ...(s.resumedFrom ? { resumedFrom: s.resumedFrom } : {}),
      ...(skipped ? { skippedCorrupt: skipped } : {}),
    },
  };
}

type StartedInfo = Parameters<NonNullable<Parameters<typeof runTraining>[0]['onStarted']>>[0];

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const activateResult = argv.includes('--activate-result');
  let args;
  try {
    args = parseTrainArgs(argv.filter((a) => a !== '--activate-result'));
  } catch (err) {
    if (err instanceof UsageError) {
      await send({ type: 'error', message: `trainer: ${err.message}` });
      return 2;
    }
    throw err;
  }
  const cfg = config();
  const logger = createLogger({ name: 'trainer', level: cfg.LOG_LEVEL, destination: process.stderr as never });
  const modelsDir = args.modelsDir ?? cfg.MODELS_DIR;
  const shouldStop = stopRequests(logger);

  const info = await initTf(args.backend ?? cfg.TF_BACKEND);
  const { resume, skipped } = await resumeFrom(args.resume, modelsDir, logger);
  // Every run draws fresh noise and data order (an exact resume would repeat the
  // previous run bit for bit, and the quality gate would reject it forever).
  const runSeed = args.seed ?? crypto.randomInt(0, 2 ** 31 - 1);
  // A run continues on the data its model was trained on (the shipped colour model: sneakers-64).
  const datasetDir = resolveDatasetDir(runDatasetName(args.dataset, modelsDir), cfg.DATA_DIR);

  const threading = await threadingHooks(args.threads ?? 1);
  let result;
  try {
    result = await runTraining({
      ...(threading.stepFn ? { stepFn: threading.stepFn } : {}),
      ...(threading.beforeCheckpoint ? { beforeCheckpoint: threading.beforeCheckpoint } : {}),
      modelsDir,
      dataset: datasetDir,
      steps: args.steps ?? cfg.TRAIN_STEPS,
      ...(resume ? { resume, reseed: runSeed } : { seed: runSeed }),
      config: args.config,
      trainOptions: args.trainOptions,
      ...(args.logEvery !== undefined ? { logEvery: args.logEvery } : {}),
      ...(args.checkpointEvery !== undefined ? { checkpointEvery: args.checkpointEvery } : {}),
      ...(args.maxMinutes !== undefined ? { maxSeconds: args.maxMinutes * 60 } : {}),
      activate: activateResult,
      evaluate: args.evaluate,
      shouldStop,
      logger,
      onStarted: (s) => void send(startedMessage(s, info.label, runSeed, skipped)),
      onProgress: (p) => void send(p),
      onCheckpoint: (c) =>
        void send({ type: 'checkpoint', version: c.version, dir: c.dir, step: c.step, metrics: c.metrics }),
    });
  } finally {
    await threading.close();
  }
  const { stopped, steps, freezeCount, imagesPerSecond, lossD, lossG } = result;
  await send({ type: 'done', stopped, steps, freezeCount, imagesPerSecond, lossD, lossG });
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    // Close the IPC channel so the process can exit once the last message is flushed.
    if (process.connected) process.disconnect();
  },
  async (err: Error) => {
    await send({ type: 'error', message: err.message }).catch(() => {});
    process.stderr.write(`trainer: ${err.message}\n`);
    process.exitCode = 1;
    if (process.connected) process.disconnect();
  },
);
