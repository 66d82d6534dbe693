/**
 * What one training run was, while it runs and after it ended: the figures /train status shows and
 * the TrainingRun row's final columns. A crash (non-zero exit, an `error` message, no `done`) makes
 * the run `failed` with the child's own words, else the tail of its stderr.
 */
import type { TrainerToBot, TrainProgress } from '../gan/protocol.ts';
import type { ChildExit } from './run-child.ts';

export interface RunInfo {
  runId: number;
  trigger: string;
  startedAt: number;
  steps: number;
  runStartStep?: number;
  targetStep?: number;
  backend?: string;
  progress?: TrainProgress;
  /** Loss points of this run (for the plot). */
  history: { step: number; lossD: number; lossG: number }[];
  config?: Record<string, unknown>;
}

export interface LastRunInfo {
  runId: number;
  status: string;
  trigger: string;
  startedAt: number;
  endedAt: number;
  steps: number;
  imagesPerSecond?: number;
  lossD?: number;
  lossG?: number;
  freezeCount?: number;
  checkpointVersion?: string;
  gate?: string;
  error?: string;
}

/** Loss points a run keeps in memory at most (the plot needs no more). */
const HISTORY_MAX = 5000;

/** What the child said during a run, beyond progress. */
export interface ChildReport {
  done?: Extract<TrainerToBot, { type: 'done' }>;
  error?: string;
  checkpoint?: Extract<TrainerToBot, { type: 'checkpoint' }>;
  /** The quality gate's outcome for `checkpoint`. */
  gate?: string;
}

/** Folds a 'started' or 'progress' message into the run; false for other messages. */
export function recordProgress(run: RunInfo, m: TrainerToBot): boolean {
  if (m.type === 'started') {
    run.runStartStep = m.runStartStep;
    run.targetStep = m.targetStep;
    run.backend = m.backend;
    run.config = m.config;
    return true;
  }
  if (m.type === 'progress') {
    run.progress = m;
    run.history.push({ step: m.step, lossD: m.lossD, lossG: m.lossG });
    if (run.history.length > HISTORY_MAX) run.history.splice(0, run.history.length - HISTORY_MAX);
    return true;
  }
  return false;
}

/** The run's end: its status, error, the row's summary columns and the LastRunInfo /train status shows. */
export function runEnding(run: RunInfo, exit: ChildExit, report: ChildReport) {
  const { done, checkpoint } = report;
  const crashed = !!exit.spawnError || (exit.code !== 0 && !done) || (!!report.error && !done);
  const status = crashed ? 'failed' : done?.stopped ? 'stopped' : 'succeeded';
  const error = crashed ? crashError(exit, report.error) : undefined;
  const last = run.progress;
  const steps = done?.steps ?? last?.runStepsDone ?? 0;
  const summary = {
    steps,
    lossD: done?.lossD ?? last?.lossD ?? null,
    lossG: done?.lossG ?? last?.lossG ?? null,
    freezeCount: done?.freezeCount ?? 0,
    imagesPerSecond: done?.imagesPerSecond ?? last?.imagesPerSecond ?? null,
    checkpointVersion: checkpoint?.version ?? null,
  };
  const lastRun: LastRunInfo = {
    runId: run.runId,
    status,
    trigger: run.trigger,
    startedAt: run.startedAt,
    endedAt: Date.now(),
    steps,
    imagesPerSecond: done?.imagesPerSecond ?? last?.imagesPerSecond,
    lossD: done?.lossD ?? last?.lossD,
    lossG: done?.lossG ?? last?.lossG,
    freezeCount: done?.freezeCount,
    checkpointVersion: checkpoint?.version,
    gate: report.gate,
    error,
  };
  return { crashed, status, error, summary, lastRun };
}

/** Why a run failed, at most 2000 characters: the child's message, the fork error, or the exit and stderr tail. */
function crashError(exit: ChildExit, reported: string | undefined): string {
  const tail = exit.stderrTail.length ? `: ${exit.stderrTail.join('').trim().split('\n').slice(-3).join(' | ')}` : '';
  const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
  return (reported ?? exit.spawnError?.message ?? `trainer exited with ${how}${tail}`).slice(0, 2000);
}
