/**
 * The training loop's bookkeeping: the clock (elapsed time, the time limit),
 * a cheap callback after every step for progress bars, mean figures per
 * logging window (reported, logged, and kept in the model's loss history for
 * plots), and the run's result at the end.
 */
import type { StepResult } from './train-step.ts';
import type { TrainProgress } from './protocol.ts';
import type { CheckpointMetrics } from './quality.ts';
import type { TrainingRun } from './training-setup.ts';
import type { TrainRunOptions, TrainRunResult } from './training-options.ts';

/** Most history points kept in a checkpoint (for loss plots). */
export const HISTORY_LIMIT = 2000;

type MeterOptions = Pick<TrainRunOptions, 'steps' | 'maxSeconds' | 'logEvery' | 'onStep' | 'onProgress' | 'logger'>;

/** Sums over the current logging window. */
interface Window {
  steps: number;
  lossD: number;
  lossG: number;
  dReal: number;
  dFake: number;
  frozen: number;
  /** When the window started (performance.now()). */
  t: number;
}

/** Times a run and turns its steps' figures into progress reports and history points. */
export class ProgressMeter {
  /** When the run's first step started (performance.now()). */
  readonly t0 = performance.now();
  /** Losses of the last step (NaN before the first). */
  last = { lossD: NaN, lossG: NaN };
  private win: Window = { steps: 0, lossD: 0, lossG: 0, dReal: 0, dFake: 0, frozen: 0, t: this.t0 };
  private readonly logEvery: number;

  /** `run.history` receives one point per window; `targetStep` is the step the run ends at if not stopped. */
  constructor(
    private readonly opts: MeterOptions,
    private readonly run: TrainingRun,
    private readonly targetStep: number,
  ) {
    this.logEvery = Math.max(1, opts.logEvery ?? 25);
  }

  /** Seconds since the run started. */
  seconds(): number {
    return (performance.now() - this.t0) / 1000;
  }

  /** Whether the run's time limit (opts.maxSeconds) has been reached; logs it when it has. */
  timeIsUp(): boolean {
    const { maxSeconds, logger } = this.opts;
    if (maxSeconds === undefined || this.seconds() < maxSeconds) return false;
    logger?.info({ maxSeconds }, 'time limit reached');
    return true;
  }

  /** Records step `i` (0-based within the run) with figures `r`: onStep every time, a progress report at the end of each window. */
  record(i: number, r: StepResult): void {
    const { opts, win } = this;
    this.last = { lossD: r.lossD, lossG: r.lossG };
    win.steps += 1;
    win.lossD += r.lossD;
    win.lossG += r.lossG;
    win.dReal += r.dReal;
    win.dFake += r.dFake;
    win.frozen += r.frozen ? 1 : 0;
    const now = performance.now();
    if (opts.onStep) {
      const elapsed = (now - this.t0) / 1000;
      const bySteps = (elapsed / (i + 1)) * (opts.steps - i - 1);
      const byTime = opts.maxSeconds !== undefined ? Math.max(0, opts.maxSeconds - elapsed) : Infinity;
      opts.onStep({
        step: this.run.state.step,
        runStepsDone: i + 1,
        runStepsTotal: opts.steps,
        lossD: r.lossD,
        lossG: r.lossG,
        elapsed,
        etaSeconds: Math.min(bySteps, byTime),
        fraction: Math.max((i + 1) / opts.steps, opts.maxSeconds ? Math.min(1, elapsed / opts.maxSeconds) : 0),
      });
    }
    if (win.steps === this.logEvery || i === opts.steps - 1) this.report(i + 1, now);
  }

  /** Ends the window after `done` steps of the run at time `now`: reports its means and keeps them in the history. */
  private report(done: number, now: number): void {
    const { opts, win, run } = this;
    const secs = (now - win.t) / 1000;
    const rate = (now - this.t0) / 1000 / done;
    const p: TrainProgress = {
      type: 'progress',
      step: run.state.step,
      targetStep: this.targetStep,
      runStepsDone: done,
      runStepsTotal: opts.steps,
      lossD: win.lossD / win.steps,
      lossG: win.lossG / win.steps,
      dReal: win.dReal / win.steps,
      dFake: win.dFake / win.steps,
      freezeRate: win.frozen / win.steps,
      imagesPerSecond: secs > 0 ? (win.steps * run.trainOpts.batchSize) / secs : 0,
      // A time limit can end the run before its step count does.
      etaSeconds: Math.min(
        rate * (opts.steps - done),
        opts.maxSeconds !== undefined ? Math.max(0, opts.maxSeconds - (now - this.t0) / 1000) : Infinity,
      ),
    };
    run.history.push({
      step: p.step,
      lossD: p.lossD,
      lossG: p.lossG,
      dReal: p.dReal,
      dFake: p.dFake,
      freezeRate: p.freezeRate,
      imagesPerSecond: p.imagesPerSecond,
    });
    if (run.history.length > HISTORY_LIMIT * 2) run.history = run.history.slice(-HISTORY_LIMIT);
    opts.onProgress?.(p);
    opts.logger?.debug(p, 'training progress');
    this.win = { steps: 0, lossD: 0, lossG: 0, dReal: 0, dFake: 0, frozen: 0, t: now };
  }
}

/** How a run ended: what runResult reports besides the run's own state. */
export interface RunEnd {
  /** Steps trained and the seconds they took (the final checkpoint not included). */
  steps: number;
  seconds: number;
  stopped: boolean;
  /** The last checkpoint written, and its quality figures. */
  saved?: { version: string; dir: string };
  metrics: CheckpointMetrics;
}

/** The result of a run, also logged as its last line. */
export function runResult(
  run: TrainingRun,
  meter: ProgressMeter,
  end: RunEnd,
  logger?: TrainRunOptions['logger'],
): TrainRunResult {
  const { steps, seconds, stopped } = end;
  const result: TrainRunResult = {
    version: end.saved?.version,
    dir: end.saved?.dir,
    step: run.state.step,
    steps,
    stopped,
    freezeCount: run.state.freezeCount,
    seconds,
    imagesPerSecond: seconds > 0 ? (steps * run.trainOpts.batchSize) / seconds : 0,
    lossD: meter.last.lossD,
    lossG: meter.last.lossG,
    metrics: end.metrics,
  };
  logger?.info(result, stopped ? 'training stopped early' : 'training finished');
  return result;
}
