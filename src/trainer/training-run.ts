/**
 * One training run, start to end, for the scheduler: its TrainingRun row (written before the fork,
 * so a crash at start-up is recorded too), the trainer child with its flags, the quality gate for
 * the checkpoint it reports, and the row's final columns. A crash ends it as `failed` and changes
 * nothing for users.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import type { PrismaClient } from '../db/client.ts';
import { failTrainingRun, finishTrainingRun, startTrainingRun } from '../db/training.ts';
import { checkpointsDir } from '../gan/checkpoint.ts';
import type { TrainerToBot } from '../gan/protocol.ts';
import type { Activation } from './activation.ts';
import { forkTrainerChild, type ChildExit, type ForkOptions } from './run-child.ts';
import { recordProgress, runEnding, type ChildReport, type LastRunInfo, type RunInfo } from './run-record.ts';
import type { ServedModel } from './served.ts';

export type RunTrigger = 'cron' | 'admin' | 'cli';

export interface RunContext {
  db: PrismaClient;
  log: Logger;
  served: ServedModel;
  activation: Activation;
  /** How to fork the child (its steps and flags are this module's). */
  fork: Omit<ForkOptions, 'steps' | 'args'>;
  /** Extra trainer flags from the operator. */
  extraArgs: string[];
  /** The row is written: the run is real from here on. */
  recorded(): void;
  /** The run began or made progress (current run, for /train status). */
  progress(run: RunInfo): void;
  /** The child process while it runs (to ask it to stop). */
  forked(child: ChildProcess | undefined): void;
  /** The run ended and its row is final. */
  finished(last: LastRunInfo): void;
}

/**
 * The trainer's flags. It continues from the checkpoint this process SERVES (`--resume V`), so the
 * run, the announcement and the quality gate all follow the one choice made at start-up (which may
 * be a fallback when the manifest's checkpoint is corrupt) instead of the trainer picking its own.
 * `--activate-result` is dropped: publishing is the scheduler's job, after its gate.
 */
function childArgs(modelsDir: string, extraArgs: string[], steps: number, served: string | undefined): string[] {
  const extra = extraArgs.filter((a) => a !== '--activate-result');
  const named = extra.some((a) => a === '--resume' || a.startsWith('--resume='));
  // A generator handed over in memory (tests) has no files to resume from: leave the choice to the trainer.
  const onDisk = served && fs.existsSync(path.join(checkpointsDir(modelsDir), served));
  return ['--steps', String(steps), ...(!named && onDisk ? ['--resume', served] : []), ...extra];
}

/** One run: record it, fork the child, follow it, gate its checkpoint, record how it ended. */
export async function conductRun(ctx: RunContext, trigger: RunTrigger, steps: number): Promise<void> {
  const served = ctx.served.active;
  const row = await startTrainingRun(ctx.db, { trigger, startStep: served?.step ?? 0 });
  ctx.recorded();
  const run: RunInfo = { runId: row.id, trigger, startedAt: Date.now(), steps, history: [] };
  ctx.log.info({ run: row.id, trigger, steps, from: served?.version ?? 'scratch' }, 'training run starting');
  ctx.progress(run);

  const report: ChildReport = {};
  const gating: Promise<void>[] = [];
  const args = childArgs(ctx.fork.config.MODELS_DIR, ctx.extraArgs, steps, served?.version);
  const exit = await followChild(ctx, run, args, report, gating);
  await Promise.allSettled(gating);
  await recordEnd(ctx, run, exit, report);
}

/** Forks the trainer child and folds its messages into `run` and `report` until it has closed. */
function followChild(
  ctx: RunContext,
  run: RunInfo,
  args: string[],
  report: ChildReport,
  gating: Promise<void>[],
): Promise<ChildExit> {
  const onMessage = (m: TrainerToBot) => {
    if (recordProgress(run, m)) ctx.progress(run);
    else if (m.type === 'checkpoint') {
      report.checkpoint = m;
      gating.push(
        ctx.activation
          .considerCheckpoint(m)
          .then((g) => void (report.gate = g))
          .catch((err) => {
            report.gate = `not activated: ${(err as Error).message}`;
            ctx.log.error({ err, version: m.version }, 'could not activate the new checkpoint');
          }),
      );
    } else if (m.type === 'done') report.done = m;
    else if (m.type === 'error') report.error = m.message;
  };
  const child = forkTrainerChild({ ...ctx.fork, steps: run.steps, args }, onMessage);
  ctx.forked(child.process);
  return child.exited;
}

/** Writes the run's end to its row, logs it and hands the LastRunInfo over. */
async function recordEnd(ctx: RunContext, run: RunInfo, exit: ChildExit, report: ChildReport): Promise<void> {
  const { db, log } = ctx;
  const end = runEnding(run, exit, report);
  if (end.crashed) await failTrainingRun(db, run.runId, end.error!, end.summary);
  else await finishTrainingRun(db, run.runId, end.summary, end.status === 'stopped' ? 'stopped' : 'succeeded');
  if (end.crashed) log.error({ run: run.runId, error: end.error }, 'training run failed (users unaffected)');
  else {
    const { status, lastRun } = end;
    const fields = {
      run: run.runId,
      status,
      steps: lastRun.steps,
      checkpoint: report.checkpoint?.version,
      gate: report.gate,
    };
    log.info(fields, 'training run finished');
  }
  ctx.finished(end.lastRun);
}
