/**
 * `npm run train -- --steps N [--resume] [--dataset ...]`: trains the DCGAN
 * in this process with a progress bar (TTY) or one line per window (pipes),
 * then writes and activates a checkpoint. See --help (src/bin/train-args.ts).
 */
import os from 'node:os';
import path from 'node:path';
import { config } from '../config/env.ts';
import { createLogger } from '../log.ts';
import { initTf } from '../tf/index.ts';
import { resolveDatasetDir } from '../data/dataset.ts';
import { compareQuality } from '../gan/quality.ts';
import { runDatasetName, readManifest } from '../gan/manifest.ts';
import { listCheckpoints, setActiveCheckpoint, chooseResumeCheckpoint } from '../gan/catalogue.ts';
import { readCheckpointMeta } from '../gan/checkpoint-load.ts';
import type { CheckpointMeta } from '../gan/checkpoint.ts';
import { runTraining, threadingHooks } from '../gan/training-loop.ts';
import { DEFAULT_RECIPE, describeExtras, RECIPES } from '../gan/recipe.ts';
import { parseTrainArgs, TRAIN_HELP, UsageError } from './train-args.ts';
import { fmtDuration } from '../data/progress.ts';

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : String(x));

/** Counts (e.g. n=1000) as plain integers, other figures with 3 significant digits, never exponent notation. */
function fmtMetric(v: number | string | undefined): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1000 ? v.toFixed(0) : Number(v.toPrecision(3)).toString();
}

type TrainArgs = ReturnType<typeof parseTrainArgs>;
type RunCallbacks = Pick<
  Parameters<typeof runTraining>[0],
  'onWarning' | 'onStarted' | 'onStep' | 'onProgress' | 'onCheckpoint'
>;

/** `--list`: every checkpoint with its shape and figures, the active one starred. */
async function printCheckpoints(modelsDir: string): Promise<number> {
  const list = await listCheckpoints(modelsDir);
  if (!list.length) process.stdout.write(`no checkpoints in ${path.join(modelsDir, 'checkpoints')}\n`);
  for (const c of list) {
    const m = Object.entries(c.metrics)
      .map(([k, v]) => `${k}=${fmtMetric(v)}`)
      .join(' ');
    process.stdout.write(
      c.error
        ? `  ${c.version}  UNUSABLE: ${c.error}\n`
        : `${c.active ? '* ' : '  '}${c.version}  step ${c.step}  ${c.config.imageSize}x${c.config.imageSize}x${c.config.channels} ngf=${c.config.ngf}  ${m}\n`,
    );
  }
  return 0;
}

/**
 * Which checkpoint to continue: a named one as is; with plain --resume the active one, or the
 * newest valid one (with a warning) when the active one is corrupted.
 */
async function chooseStart(args: TrainArgs, modelsDir: string) {
  const err = process.stderr;
  const active = (await readManifest(modelsDir).catch(() => ({ active: null }))).active ?? undefined;
  let resume: boolean | string = args.resume;
  let skipped: string | undefined;
  if (args.resume === true) {
    const choice = await chooseResumeCheckpoint(modelsDir);
    if (choice.warning) err.write(`train: warning: ${choice.warning}\n`);
    skipped = choice.skipped;
    // No active checkpoint and nothing wrong: keep `true` so runTraining says there is nothing to resume.
    resume = choice.version ?? (choice.warning ? false : true);
  } else if (!args.resume && active) {
    err.write(`train: starting from scratch; use --resume to continue ${active}\n`);
  }
  // Quality gate: a result much worse than the active checkpoint stays a candidate (like the bot's runs).
  let activeMeta: CheckpointMeta | undefined;
  if (args.activate && !args.forceActivate && active && active !== skipped) {
    activeMeta = await readCheckpointMeta(modelsDir, active).catch(() => undefined);
  }
  return { active, resume, activeMeta };
}

/** Ctrl-C (or SIGTERM) stops after the current step with a checkpoint; a second one aborts without saving. */
function stopOnSignals(): { requested: () => boolean; off: () => void } {
  const err = process.stderr;
  let stop = false;
  let sigints = 0;
  const onSigint = (): void => {
    sigints += 1;
    if (sigints >= 2) {
      err.write('\ntrain: aborted without saving\n');
      process.exit(130);
    }
    stop = true;
    err.write('\ntrain: stopping after this step and writing a checkpoint (Ctrl-C again to abort without saving)\n');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  return {
    requested: () => stop,
    off: () => {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    },
  };
}

/** What the run prints on stderr: a progress bar on a terminal, one line per logging window, checkpoints, warnings. */
function progressPrinter(datasetDir: string): { callbacks: RunCallbacks; clearBar: () => void } {
  const err = process.stderr;
  const tty = Boolean(err.isTTY);
  let lastBar = 0;
  let barShown = false;
  const clearBar = (): void => {
    if (tty && barShown) err.write('\r\x1b[K');
    barShown = false;
  };
  const callbacks: RunCallbacks = {
    onWarning: (msg) => {
      clearBar();
      err.write(`train: warning: ${msg}\n`);
    },
    onStarted: (s) => {
      const t = s.trainOptions;
      err.write(
        `train: ${s.resumedFrom ? `resuming ${s.resumedFrom} at step ${s.runStartStep}` : 'from scratch'} -> step ${s.targetStep}; ` +
          `${s.config.imageSize}x${s.config.imageSize}x${s.config.channels} nz=${s.config.nz} ngf=${s.config.ngf} ndf=${s.config.ndf}; ` +
          `batch ${t.batchSize}, lr ${t.lr}, beta1 ${t.beta1}, wd ${t.weightDecay} (${t.weightDecayMode}), ` +
          `label smoothing ${t.labelSmoothing ? t.realLabel : 'off'}, ${t.nonSaturating ? 'non-saturating' : 'minimax'} G loss, ` +
          `freezing ${t.freezing ? `< ${t.freezeRatio}` : 'off'}; beyond the seed: ${describeExtras(t)}; data ${datasetDir}\n`,
      );
    },
    onStep: (s) => {
      if (!tty) return;
      const now = Date.now();
      if (now - lastBar < 200 && s.runStepsDone < s.runStepsTotal) return;
      lastBar = now;
      const frac = s.fraction;
      const eta = s.etaSeconds;
      const width = 30;
      const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '-');
      err.write(
        `\r[${bar}] ${(frac * 100).toFixed(0).padStart(3)}% step ${s.step} (${s.runStepsDone}/${s.runStepsTotal}) ` +
          `D ${f3(s.lossD)} G ${f3(s.lossG)} ETA ${fmtDuration(eta)}\x1b[K`,
      );
      barShown = true;
    },
    onProgress: (p) => {
      clearBar();
      err.write(
        `step ${p.step}/${p.targetStep}  loss_D ${f3(p.lossD)}  loss_G ${f3(p.lossG)}  D(x) ${f3(p.dReal)}  D(G(z)) ${f3(p.dFake)}  ` +
          `frozen ${(p.freezeRate * 100).toFixed(0)}%  ${p.imagesPerSecond.toFixed(1)} img/s  ETA ${fmtDuration(p.etaSeconds)}\n`,
      );
    },
    onCheckpoint: (c) => {
      clearBar();
      const m = Object.entries(c.metrics)
        .map(([k, v]) => `${k}=${fmtMetric(v)}`)
        .join(' ');
      err.write(
        `checkpoint ${c.version} (step ${c.step})${c.active ? ' [active]' : ''}${m ? ` ${m}` : ''}\n  ${c.dir}\n`,
      );
    },
  };
  return { callbacks, clearBar };
}

/** The run's options from the command line (a new model gets the measured winner recipe; a resumed one keeps its own). */
function runOptions(args: TrainArgs, steps: number, resume: boolean | string) {
  return {
    steps,
    resume,
    config: args.config,
    // README "Training recipe".
    trainOptions:
      !resume && args.recipe === undefined ? { ...RECIPES[DEFAULT_RECIPE], ...args.trainOptions } : args.trainOptions,
    ...(args.seed !== undefined ? { seed: args.seed } : {}),
    ...(args.logEvery !== undefined ? { logEvery: args.logEvery } : {}),
    ...(args.checkpointEvery !== undefined ? { checkpointEvery: args.checkpointEvery } : {}),
    ...(args.maxMinutes !== undefined ? { maxSeconds: args.maxMinutes * 60 } : {}),
    evaluate: args.evaluate,
  };
}

/** With the quality gate on: the result becomes active unless it is much worse than the active checkpoint. */
async function gateResult(
  result: Awaited<ReturnType<typeof runTraining>>,
  baseline: { active?: string; activeMeta?: CheckpointMeta },
  modelsDir: string,
  margin: number,
): Promise<void> {
  const err = process.stderr;
  if (!result.version) {
    err.write('train: stopped before the first step: nothing trained, no checkpoint written (the active one stays).\n');
    return;
  }
  if (!baseline.activeMeta) return;
  const verdict = compareQuality(result.metrics, baseline.activeMeta.metrics, margin);
  if (verdict.worse) {
    err.write(
      `train: kept ${result.version} as a candidate, NOT active: ${verdict.reason}; ${baseline.active} stays active.\n` +
        `  activate it anyway with: npm run train -- --activate ${result.version}  (or train with --force-activate)\n`,
    );
  } else {
    await setActiveCheckpoint(modelsDir, result.version, { verify: true });
    err.write(`train: ${result.version} is now active (${verdict.reason})\n`);
  }
}

async function main(): Promise<number> {
  let args: TrainArgs;
  try {
    args = parseTrainArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`train: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (args.help) {
    process.stdout.write(TRAIN_HELP + '\n');
    return 0;
  }
  const cfg = config();
  const modelsDir = args.modelsDir ?? cfg.MODELS_DIR;
  if (args.list) return printCheckpoints(modelsDir);
  const info = await initTf(args.backend ?? cfg.TF_BACKEND);
  if (args.activateOnly) {
    await setActiveCheckpoint(modelsDir, args.activateOnly);
    process.stdout.write(`active checkpoint: ${args.activateOnly}\n`);
    return 0;
  }

  // --resume continues on the data the model was trained on (the shipped colour model: sneakers-64).
  const datasetDir = resolveDatasetDir(runDatasetName(args.dataset, modelsDir, Boolean(args.resume)), cfg.DATA_DIR);
  const steps = args.steps ?? cfg.TRAIN_STEPS;
  const start = await chooseStart(args, modelsDir);
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', name: 'train' });
  const stop = stopOnSignals();
  const printer = progressPrinter(datasetDir);

  // Both cores by default for real runs: data-parallel training measured 1.3-1.4x one thread on an
  // idle 2-core machine. Short runs stay on one thread (the worker takes seconds to start), and the
  // bot's scheduled trainer uses one so that the bot keeps a core for itself.
  const threads = args.threads ?? (os.availableParallelism() >= 2 && steps >= 100 ? 2 : 1);
  const threading = await threadingHooks(threads);
  process.stderr.write(`train: backend ${info.label} (${info.reason}); ${threading.description}\n`);
  const result = await runTraining({
    ...(threading.stepFn ? { stepFn: threading.stepFn } : {}),
    ...(threading.beforeCheckpoint ? { beforeCheckpoint: threading.beforeCheckpoint } : {}),
    modelsDir,
    dataset: datasetDir,
    ...runOptions(args, steps, start.resume),
    activate: args.activate && !start.activeMeta,
    shouldStop: stop.requested,
    logger,
    ...printer.callbacks,
  });
  await threading.close();
  printer.clearBar();
  await gateResult(result, start, modelsDir, cfg.QUALITY_MARGIN);
  stop.off();
  process.stderr.write(
    `train: ${result.stopped ? 'stopped' : 'done'}: ${result.steps} steps in ${fmtDuration(result.seconds)} ` +
      `(${result.imagesPerSecond.toFixed(1)} img/s), now at step ${result.step}, D updates frozen ${result.freezeCount}x in total\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`\ntrain: ${err.message}\n`);
    process.exit(1);
  },
);
