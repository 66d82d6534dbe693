/**
 * Command-line options of `npm run train`, shared with the trainer child
 * process (src/bin/trainer-child.ts), which the bot starts with the same
 * flags. Parsing never throws a stack trace at the user: errors are one line.
 */
import { parseArgs } from 'node:util';
import type { GanConfig } from '../gan/model.ts';
import { RECIPES, type RecipeName, type TrainOptions } from '../gan/recipe.ts';
import { parseAugmentPolicy } from '../gan/augment.ts';
import { DEFAULT_TRAIN_STEPS } from '../config/env.ts';

export const TRAIN_HELP = `Usage: npm run train -- [options]

Trains the DCGAN (from scratch, or continuing a checkpoint) and writes a checkpoint
under MODELS_DIR/checkpoints/<version>/, then makes it the active one (unless it is
clearly worse than the active one: then it is kept as a candidate, see --force-activate).

Run:
  --steps N             training steps to run now (default: TRAIN_STEPS, ${DEFAULT_TRAIN_STEPS})
  --max-minutes M       stop (with a checkpoint) after M minutes
  --resume [VERSION]    continue from the active checkpoint (or VERSION): exact resume
                        (a corrupted active checkpoint: the newest valid one, with a warning)
  --dataset NAME|DIR    packed dataset under DATA_DIR (default: with --resume, the active
                        model's dataset; else fashion-mnist-sneakers, made by
                        npm run data:import -- --source fashion-mnist)
  --models-dir DIR      default: MODELS_DIR (models)
  --seed N              seed for initialisation, latent noise and data order (default 1)
  --log-every N         steps per progress window (default 25)
  --checkpoint-every N  also write a (non-active) checkpoint every N steps
  --no-activate         do not make the new checkpoint the active one
  --force-activate      make it active even if its KID/FID/sneaker share is worse than the
                        active checkpoint's by more than QUALITY_MARGIN (default 10%)
  --no-eval             skip the quality metrics (KID/FID/sneaker share) at the end
  --backend B           auto | wasm | cpu | tensorflow (default: TF_BACKEND)
  --threads N           1, or 2 = data-parallel over two cores (default 2 for runs of 100+ steps
                        on a machine with 2+ cores; WASM/CPU backends; a worker
                        thread holds a second replica, gradients are averaged every step)

Model (from scratch only; a resumed run keeps its checkpoint's):
  --image-size S        32 | 64 | 128 (default: the dataset's; must match it)
  --channels C          1 (grey) | 3 (RGB) (default: the dataset's; must match it)
  --nz N                latent size (default 100)
  --ngf N, --ndf N      generator / discriminator widths (default 32)

Recipe (from scratch; on resume only what you name changes the checkpoint's options):
  --recipe R            seed (the 2017 project's, exactly) | shoebot (seed + DiffAugment +
                        weight average; see README "Training recipe")  [shoebot for a new
                        model; a resumed run keeps its checkpoint's]
  --augment P           DiffAugment policy for every image D sees: color,translation,cutout
                        (any subset) or none
  --ema, --no-ema       serve/evaluate an exponential moving average of G's weights
  --ema-half-life N     the average's half-life in training images (default 10000)
  --flip, --no-flip     mirror each real image left-right with probability 1/2

Training techniques (each can be switched):
  --batch-size N        default 64
  --lr X                Adam learning rate (default 0.0002)
  --beta1 X             Adam beta1 (default 0.5)
  --weight-decay X      default 0.0001; 0 disables
  --wd-mode M           l2 (PyTorch Adam weight_decay, default) | decoupled (AdamW)
  --real-label X        one-sided label smoothing target (default 0.9)
  --no-label-smoothing  real target 1
  --g-target T          real-label (default, like the seed) | one
  --saturating          minimax G loss instead of the non-saturating one
  --freeze-ratio X      skip D's update while mean loss_D < X * mean loss_G (default 0.7)
  --no-freezing         never skip D's update

Other:
  --list                list checkpoints and exit
  --activate VERSION    make VERSION the active checkpoint (after verifying it) and exit
  -h, --help            this help

Ctrl-C stops at the next step boundary and writes a consistent checkpoint
(press it twice to abort without saving).`;

export interface TrainCliArgs {
  help: boolean;
  list: boolean;
  activateOnly?: string;
  steps?: number;
  maxMinutes?: number;
  resume: boolean | string;
  dataset?: string;
  modelsDir?: string;
  seed?: number;
  logEvery?: number;
  checkpointEvery?: number;
  activate: boolean;
  /** Activate the result even if the quality gate would keep it as a candidate. */
  forceActivate: boolean;
  evaluate: boolean;
  backend?: 'auto' | 'wasm' | 'cpu' | 'tensorflow';
  /** 1 = single thread; 2 = data-parallel (src/gan/parallel). */
  threads?: number;
  config: Partial<GanConfig>;
  trainOptions: Partial<TrainOptions>;
  /** The --recipe named (its options are already in trainOptions); undefined = none named. */
  recipe?: RecipeName;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * node:util parseArgs reads "--seed -3" as two options ("argument is
 * ambiguous"); rewrite a negative number following a value-taking option to
 * "--seed=-3" so the range check can give its own message.
 */
export function joinNegativeValues(argv: string[], valueOptions: Iterable<string>): string[] {
  const takes = new Set(valueOptions);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = argv[i + 1];
    if (a.startsWith('--') && takes.has(a.slice(2)) && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function num(
  name: string,
  v: string | undefined,
  opts: { int?: boolean; min?: number; max?: number } = {},
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (opts.int && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be ${opts.int ? 'an integer' : 'a number'}, got "${v}"`);
  }
  if (opts.min !== undefined && n < opts.min) throw new UsageError(`--${name} must be >= ${opts.min}, got ${n}`);
  if (opts.max !== undefined && n > opts.max) throw new UsageError(`--${name} must be <= ${opts.max}, got ${n}`);
  return n;
}

const TRAIN_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  list: { type: 'boolean' },
  activate: { type: 'string' },
  steps: { type: 'string' },
  'max-minutes': { type: 'string' },
  resume: { type: 'string' },
  dataset: { type: 'string' },
  'models-dir': { type: 'string' },
  seed: { type: 'string' },
  'log-every': { type: 'string' },
  'checkpoint-every': { type: 'string' },
  'no-activate': { type: 'boolean' },
  'force-activate': { type: 'boolean' },
  'no-eval': { type: 'boolean' },
  backend: { type: 'string' },
  threads: { type: 'string' },
  'image-size': { type: 'string' },
  channels: { type: 'string' },
  nz: { type: 'string' },
  ngf: { type: 'string' },
  ndf: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  beta1: { type: 'string' },
  'weight-decay': { type: 'string' },
  'wd-mode': { type: 'string' },
  'real-label': { type: 'string' },
  'no-label-smoothing': { type: 'boolean' },
  'g-target': { type: 'string' },
  saturating: { type: 'boolean' },
  'freeze-ratio': { type: 'string' },
  'no-freezing': { type: 'boolean' },
  recipe: { type: 'string' },
  augment: { type: 'string' },
  ema: { type: 'boolean' },
  'no-ema': { type: 'boolean' },
  'ema-half-life': { type: 'string' },
  flip: { type: 'boolean' },
  'no-flip': { type: 'boolean' },
} as const;

type TrainValues = ReturnType<typeof parseArgs<{ options: typeof TRAIN_OPTIONS; strict: true }>>['values'];

/** The flags' values (`--resume` may come without a value; negative numbers are values, not flags). */
function trainValues(argv: string[]): TrainValues {
  // --resume takes an optional value: rewrite "--resume" (no value) to "--resume=" first.
  const args0 = argv.map((a, i) =>
    a === '--resume' && (argv[i + 1] === undefined || argv[i + 1].startsWith('-')) ? '--resume=' : a,
  );
  const args = joinNegativeValues(
    args0,
    Object.entries(TRAIN_OPTIONS)
      .filter(([, o]) => o.type === 'string')
      .map(([k]) => k),
  );
  try {
    return parseArgs({ args, strict: true, allowPositionals: false, options: TRAIN_OPTIONS }).values;
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]} (see --help)`);
  }
}

/** --image-size, --channels, --nz, --ngf, --ndf: the architecture of a new model. */
function modelFlags(v: TrainValues): Partial<GanConfig> {
  const config: Partial<GanConfig> = {};
  const imageSize = num('image-size', v['image-size'], { int: true });
  if (imageSize !== undefined) {
    if (![32, 64, 128].includes(imageSize))
      throw new UsageError(`--image-size must be 32, 64 or 128, got ${imageSize}`);
    config.imageSize = imageSize as GanConfig['imageSize'];
  }
  const channels = num('channels', v.channels, { int: true });
  if (channels !== undefined) {
    if (channels !== 1 && channels !== 3) throw new UsageError(`--channels must be 1 or 3, got ${channels}`);
    config.channels = channels;
  }
  for (const k of ['nz', 'ngf', 'ndf'] as const) {
    const n = num(k, v[k], { int: true, min: 1, max: 4096 });
    if (n !== undefined) config[k] = n;
  }
  return config;
}

/** --recipe, then the flags beyond the seed's recipe (augmentation, EMA, flips) over it. */
function recipeFlags(v: TrainValues, to: Partial<TrainOptions>): void {
  if (v.recipe !== undefined) {
    if (!Object.hasOwn(RECIPES, v.recipe))
      throw new UsageError(`--recipe must be ${Object.keys(RECIPES).join(' or ')}, got "${v.recipe}"`);
    Object.assign(to, RECIPES[v.recipe as keyof typeof RECIPES]);
  }
  if (v.augment !== undefined) {
    try {
      to.augment = parseAugmentPolicy(v.augment);
    } catch (err) {
      throw new UsageError(`--augment: ${(err as Error).message}`);
    }
  }
  if (v.ema && v['no-ema']) throw new UsageError('--ema and --no-ema contradict each other');
  if (v.ema) to.ema = true;
  if (v['no-ema']) to.ema = false;
  const half = num('ema-half-life', v['ema-half-life'], { min: 1 });
  if (half !== undefined) to.emaHalfLifeImages = half;
  if (v.flip && v['no-flip']) throw new UsageError('--flip and --no-flip contradict each other');
  if (v.flip) to.flip = true;
  if (v['no-flip']) to.flip = false;
}

/** The seed's recipe knobs: batch, Adam, weight decay, label smoothing, G target and loss, freezing. */
function optimiserFlags(v: TrainValues, to: Partial<TrainOptions>): void {
  const bs = num('batch-size', v['batch-size'], { int: true, min: 2, max: 4096 });
  if (bs !== undefined) to.batchSize = bs;
  const lr = num('lr', v.lr, { min: 0 });
  if (lr !== undefined) to.lr = lr;
  const beta1 = num('beta1', v.beta1, { min: 0, max: 0.999999 });
  if (beta1 !== undefined) to.beta1 = beta1;
  const wd = num('weight-decay', v['weight-decay'], { min: 0 });
  if (wd !== undefined) to.weightDecay = wd;
  if (v['wd-mode'] !== undefined) {
    if (v['wd-mode'] !== 'l2' && v['wd-mode'] !== 'decoupled')
      throw new UsageError(`--wd-mode must be l2 or decoupled, got "${v['wd-mode']}"`);
    to.weightDecayMode = v['wd-mode'];
  }
  const rl = num('real-label', v['real-label'], { min: 0.5, max: 1 });
  if (rl !== undefined) to.realLabel = rl;
  if (v['no-label-smoothing']) to.labelSmoothing = false;
  if (v['g-target'] !== undefined) {
    if (v['g-target'] !== 'one' && v['g-target'] !== 'real-label')
      throw new UsageError(`--g-target must be real-label or one, got "${v['g-target']}"`);
    to.generatorTarget = v['g-target'];
  }
  if (v.saturating) to.nonSaturating = false;
  const fr = num('freeze-ratio', v['freeze-ratio'], { min: 0 });
  if (fr !== undefined) to.freezeRatio = fr;
  if (v['no-freezing']) to.freezing = false;
}

/** What the run does besides the recipe: steps, resume/activate, dataset, seed, logging, backend, threads. */
function runFlags(v: TrainValues, out: TrainCliArgs, backend: string | undefined): void {
  if (v.activate !== undefined) out.activateOnly = v.activate;
  if (v.recipe !== undefined) out.recipe = v.recipe as RecipeName;
  const steps = num('steps', v.steps, { int: true, min: 1, max: 10_000_000 });
  if (steps !== undefined) out.steps = steps;
  const mm = num('max-minutes', v['max-minutes'], { min: 0 });
  if (mm !== undefined) out.maxMinutes = mm;
  if (v.dataset !== undefined) out.dataset = v.dataset;
  if (v['models-dir'] !== undefined) out.modelsDir = v['models-dir'];
  const seed = num('seed', v.seed, { int: true, min: 0, max: 2147483647 });
  if (seed !== undefined) out.seed = seed;
  const le = num('log-every', v['log-every'], { int: true, min: 1 });
  if (le !== undefined) out.logEvery = le;
  const ce = num('checkpoint-every', v['checkpoint-every'], { int: true, min: 1 });
  if (ce !== undefined) out.checkpointEvery = ce;
  if (backend !== undefined) out.backend = backend as TrainCliArgs['backend'];
  const threads = num('threads', v.threads, { int: true, min: 1, max: 2 });
  if (threads !== undefined) out.threads = threads;
}

/** Parses `npm run train` flags. Throws UsageError (one readable line) on bad input. */
export function parseTrainArgs(argv: string[]): TrainCliArgs {
  const v = trainValues(argv);
  const config = modelFlags(v);
  const to: Partial<TrainOptions> = {};
  recipeFlags(v, to);
  optimiserFlags(v, to);
  const backend = v.backend;
  if (backend !== undefined && !['auto', 'wasm', 'cpu', 'tensorflow'].includes(backend)) {
    throw new UsageError(`--backend must be auto, wasm, cpu or tensorflow, got "${backend}"`);
  }
  const out: TrainCliArgs = {
    help: Boolean(v.help),
    list: Boolean(v.list),
    resume: v.resume === undefined ? false : v.resume === '' ? true : v.resume,
    activate: !v['no-activate'],
    forceActivate: Boolean(v['force-activate']),
    evaluate: !v['no-eval'],
    config,
    trainOptions: to,
  };
  runFlags(v, out, backend);
  return out;
}
