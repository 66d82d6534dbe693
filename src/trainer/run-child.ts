/**
 * One trainer child process: the scheduler forks it for every run (src/bin/trainer-child.ts,
 * speaking src/gan/protocol.ts) so the bot's event loop never trains. This module starts it with
 * the run's flags and an environment without the bot token, hands its messages over, keeps the
 * tail of its stderr for the error report, and says how it ended.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/env.ts';
import { isTrainerMessage, type BotToTrainer, type TrainerToBot } from '../gan/protocol.ts';

/** The trainer child's program. */
export const TRAINER_ENTRY = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'bin',
  'trainer-child.ts',
);

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The fork itself failed (no child ran). */
  spawnError?: Error;
  /** The last chunks of the child's stderr (its logs), for the error of a crashed run. */
  stderrTail: string[];
}

export interface TrainerChild {
  /** Undefined when the fork failed. */
  readonly process?: ChildProcess;
  /** Settles after the child's last IPC message and stderr chunk have arrived. */
  readonly exited: Promise<ChildExit>;
}

export interface ForkOptions {
  config: Config;
  steps: number;
  args: string[];
  /** Default TRAINER_ENTRY. */
  entry?: string;
  /** Extra environment (merged over process.env and the config). */
  env?: Record<string, string>;
  /** Copy the child's stderr to ours (default true). */
  forwardStderr?: boolean;
}

/** The child's environment: ours minus the bot token (it never talks to Discord), plus the config it needs. */
function childEnv(opts: ForkOptions): NodeJS.ProcessEnv {
  const { config } = opts;
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DISCORD_TOKEN')),
    MODELS_DIR: config.MODELS_DIR,
    DATA_DIR: config.DATA_DIR,
    TF_BACKEND: config.TF_BACKEND,
    TRAIN_STEPS: String(opts.steps),
    LOG_LEVEL: config.LOG_LEVEL,
    ...opts.env,
  };
}

/** Forks the trainer child; every protocol message it sends goes to `onMessage`. */
export function forkTrainerChild(opts: ForkOptions, onMessage: (m: TrainerToBot) => void): TrainerChild {
  const stderrTail: string[] = [];
  let child: ChildProcess;
  try {
    child = fork(opts.entry ?? TRAINER_ENTRY, opts.args, {
      execArgv: ['--import', 'tsx'],
      env: childEnv(opts),
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
  } catch (err) {
    return { exited: Promise.resolve({ code: null, signal: null, spawnError: err as Error, stderrTail }) };
  }
  child.stderr?.on('data', (b: Buffer) => {
    if (opts.forwardStderr !== false) process.stderr.write(b);
    stderrTail.push(b.toString());
    while (stderrTail.length > 20) stderrTail.shift();
  });
  child.on('message', (m) => {
    if (isTrainerMessage(m)) onMessage(m);
  });
  const exited = new Promise<ChildExit>((resolve) => {
    child.on('error', (err) => resolve({ code: null, signal: null, spawnError: err, stderrTail }));
    // 'close' (not 'exit'): after the last IPC message and stderr chunk have arrived.
    child.on('close', (code, signal) => resolve({ code, signal, stderrTail }));
  });
  return { process: child, exited };
}

/** Asks the child to stop at its next step and write a checkpoint (SIGTERM if the channel is gone). */
export function askToStop(child: ChildProcess): void {
  const msg: BotToTrainer = { type: 'stop' };
  try {
    child.send(msg);
  } catch {
    child.kill('SIGTERM');
  }
}
