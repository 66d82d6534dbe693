/**
 * `npm run trainer`: shoebot's scheduled trainer as a process of its own — typically on a GPU
 * machine, sharing the database (DATABASE_URL) and the models directory (MODELS_DIR: NFS, or an
 * object-storage bucket mounted with rclone/s3fs) with the bot processes. No Discord token.
 *
 * It holds the trainer lease (so no bot trains meanwhile), trains on TRAIN_CRON in a child process,
 * applies the quality gate, publishes accepted checkpoints through MODELS_DIR/manifest.json (every
 * bot verifies and hot-swaps them), publishes its status for /train status, and executes the
 * /train run|stop|rollback that admins send from any bot. SIGTERM/SIGINT: a running run writes its
 * checkpoint, then the lease is released. Exit codes: 0 ok, 1 failure (or a failed --once run), 2 usage.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, DEFAULT_TRAIN_STEPS, loadConfig, MAX_TRAIN_STEPS, type Config } from '../config/env.ts';
import { log as rootLog } from '../log.ts';
import { backendInfo } from '../tf/index.ts';
import { startLeaseService, type LeaseServiceHandle } from '../trainer/standalone.ts';
import { parseTrainArgs, UsageError } from './train-args.ts';

const HELP = `Usage: npm run trainer -- [options] [-- trainer flags]

Runs shoebot's scheduled trainer on its own (e.g. on a GPU machine). It needs the same
database and models directory as the bots, no Discord token. Only one process trains at a time
(the trainer lease in the database); bots then answer /train through it and hot-swap to the
checkpoints it publishes.

  --now          start a run as soon as this process holds the lease (then keep the schedule)
  --once         start a run now and exit when it has finished (no schedule)
  --steps N      steps of the --now/--once run (default TRAIN_STEPS)
  -h, --help     this help

Trainer flags after "--" go to every run's trainer process (see npm run train -- --help),
e.g.  npm run trainer -- --now -- --dataset my-shoes --threads 2

Environment (or .env):
  DATABASE_URL      the bots' database (PostgreSQL when the bots run on other machines)
  MODELS_DIR        the shared models directory the bots read (NFS, or a bucket mounted with
                    rclone/s3fs); checkpoints are written there, then manifest.json names the new one
  DATA_DIR          where the training dataset is (npm run data:import)
  TRAIN_CRON        schedule (default "0 3 * * *"), TRAIN_STEPS steps per run (default ${DEFAULT_TRAIN_STEPS})
  TRAINER_MODE      local (default here: wait for the lease if another process holds it) or auto
  TRAINER_HEARTBEAT_SECONDS  lease heartbeat (default 5; taken over after 3 missed)
  TF_BACKEND, QUALITY_MARGIN, LOG_LEVEL as for the bot

SIGTERM/Ctrl-C: a running run stops at the next step and writes its checkpoint, then the lease is
released (a second Ctrl-C exits at once).`;

function usage(msg: string): never {
  process.stderr.write(`trainer: ${msg} (see npm run trainer -- --help)\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const split = argv.indexOf('--');
const own = split >= 0 ? argv.slice(0, split) : argv;
const trainerFlags = split >= 0 ? argv.slice(split + 1) : [];

let values: { help?: boolean; now?: boolean; once?: boolean; steps?: string };
try {
  ({ values } = parseArgs({
    args: own,
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      now: { type: 'boolean' },
      once: { type: 'boolean' },
      steps: { type: 'string' },
    },
  }));
} catch (err) {
  usage((err as Error).message);
}
if (values.help) {
  process.stdout.write(HELP + '\n');
  process.exit(0);
}
let steps: number | undefined;
if (values.steps !== undefined) {
  steps = Number(values.steps);
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_TRAIN_STEPS)
    usage(`--steps must be a whole number 1-${MAX_TRAIN_STEPS}, got "${values.steps}"`);
  if (!values.now && !values.once) usage('--steps goes with --now or --once (scheduled runs use TRAIN_STEPS)');
}
// Flags for the trainer child are checked now, not at 03:00.
try {
  const parsed = parseTrainArgs(trainerFlags);
  if (parsed.help)
    usage('put --help before "--" for this command, or run npm run train -- --help for the trainer flags');
  if (parsed.modelsDir !== undefined)
    usage('--models-dir after "--" is not allowed: set MODELS_DIR (the directory the bots read)');
  if (parsed.steps !== undefined)
    usage('--steps after "--" would fix every run; use TRAIN_STEPS, or --steps before "--" with --now/--once');
} catch (err) {
  if (err instanceof UsageError) usage(`trainer flag: ${err.message}`);
  throw err;
}

let config: Config;
try {
  // Here the default is "local": this process exists to train.
  config = loadConfig({ ...process.env, TRAINER_MODE: process.env.TRAINER_MODE || 'local' });
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(err.message + '\n');
    process.exit(1);
  }
  throw err;
}
if (config.TRAINER_MODE === 'off') {
  process.stderr.write(
    'trainer: TRAINER_MODE=off says this machine must not train; unset it (or set local) to run the trainer here\n',
  );
  process.exit(1);
}
const log = rootLog().child({ part: 'trainer' });
process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled promise rejection'));

let handle: LeaseServiceHandle;
try {
  handle = await startLeaseService({
    config,
    log,
    scheduler: { args: trainerFlags, ...(values.once ? { schedule: false } : {}) },
  });
} catch (err) {
  log.fatal({ err }, 'could not start the trainer');
  process.stderr.write(`trainer: could not start: ${(err as Error).message}\n`);
  process.exit(1);
}
const b = backendInfo();
const runner = handle.scheduler;
process.stderr.write(
  `trainer: ${handle.ownerId}; backend ${b ? `${b.label} (${b.reason})` : 'unknown'}; models ${config.MODELS_DIR}; ` +
    `${handle.holding ? 'holding the trainer lease' : 'waiting for the trainer lease (another process holds it)'}; ` +
    `${values.once ? 'one run, then exit' : `schedule ${config.TRAIN_CRON}`}\n`,
);
const problem = runner.datasetProblem();
if (problem) process.stderr.write(`trainer: warning: ${problem}\n`);
// A MODELS_DIR that is not the bots' (a share not mounted, a typo) would train from scratch and
// publish where no bot looks: say so on the terminal, not only in the JSON log.
if (!runner.servedModel.active) {
  const missing = !fs.existsSync(config.MODELS_DIR);
  process.stderr.write(
    `trainer: warning: no checkpoint to continue from in ${config.MODELS_DIR}${missing ? ' (the directory does not exist)' : ''}: ` +
      `the first run trains from scratch; if the bots' models directory is elsewhere (not mounted?), stop this and fix MODELS_DIR\n`,
  );
}
// The JSON log says when a waiting trainer gets the lease; the terminal should too.
if (!handle.holding)
  void handle
    .whenHolding()
    .then(() => process.stderr.write(`trainer: now holding the trainer lease: this process trains\n`));
runner.on((e) => {
  if (e.type === 'run-finished') {
    const r = e.run;
    process.stderr.write(
      `trainer: run #${r.runId} ${r.status}: ${r.steps} steps${r.imagesPerSecond ? `, ${r.imagesPerSecond.toFixed(1)} img/s` : ''}` +
        `${r.checkpointVersion ? `, checkpoint ${r.checkpointVersion}` : ''}${r.gate ? ` (${r.gate})` : ''}${r.error ? `: ${r.error}` : ''}\n`,
    );
  } else if (e.type === 'run-progress' && e.run.progress) {
    const p = e.run.progress;
    process.stderr.write(
      `trainer: run #${e.run.runId} step ${p.step}/${p.targetStep}  loss_D ${p.lossD.toFixed(3)}  loss_G ${p.lossG.toFixed(3)}  ` +
        `frozen ${(p.freezeRate * 100).toFixed(0)}%  ${p.imagesPerSecond.toFixed(1)} img/s  ETA ${Math.round(p.etaSeconds)} s\n`,
    );
  } else if (e.type === 'swap') {
    process.stderr.write(
      `trainer: ${e.swap.accepted ? `published ${e.swap.version} (bots hot-swap to it)` : `kept ${e.swap.version} unpublished`}: ${e.swap.reason}\n`,
    );
  }
});

let signals = 0;
let exiting: Promise<void> | undefined;
const shutdown = (code: number) =>
  (exiting ??= handle
    .stop()
    .then(() => process.exit(code))
    .catch((err) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }));
const onSignal = (sig: string) => {
  signals += 1;
  if (signals > 1) {
    process.stderr.write('trainer: exiting without waiting for the checkpoint\n');
    process.exit(130);
  }
  process.stderr.write(`trainer: ${sig}: finishing (a running run writes its checkpoint), then releasing the lease\n`);
  void shutdown(0);
};
process.on('SIGTERM', () => onSignal('SIGTERM'));
process.on('SIGINT', () => onSignal('SIGINT'));

// The service's timers are unref'd (they must not keep a bot alive): this one keeps the trainer
// running until a signal, also while --now waits for the lease.
setInterval(() => {}, 1 << 30);

if (values.now || values.once) {
  await handle.whenHolding();
  const r = await runner.startRun('cli', steps ?? config.TRAIN_STEPS);
  if (!r.started) {
    process.stderr.write(`trainer: run not started: ${r.reason}\n`);
    if (values.once) await shutdown(1);
  } else if (values.once) {
    await runner.waitIdle();
    await shutdown(runner.lastRun?.status === 'succeeded' || runner.lastRun?.status === 'stopped' ? 0 : 1);
  }
}
