/**
 * `npm run eval` — prints the quality figures of a checkpoint: KID and FID
 * between generated samples and the dataset's held-out real images (on a
 * pretrained MobileNetV2's features for colour models, on the shipped
 * Fashion-MNIST classifier's for grey ones) and the share of samples the
 * classifier calls a sneaker. `--reference` adds real-vs-real (training
 * images vs held-out) and untrained-generator rows to read the figures against.
 */
import { config } from '../config/env.ts';
import { initTf, backendInfo } from '../tf/index.ts';
import { DEFAULT_DATASET, loadDataset, resolveDatasetDir, type Dataset } from '../data/dataset.ts';
import { compareSamples, evaluateGenerator, type QualityMetrics } from '../gan/metrics.ts';
import { perceptualMetricId } from '../gan/perceptual-metric.ts';
import { loadGeneratorCheckpoint, readCheckpointMeta } from '../gan/checkpoint-load.ts';
import { updateCheckpointMetrics } from '../gan/checkpoint-meta.ts';
import { buildGenerator, type GanConfig } from '../gan/model.ts';
import { parseCommandLine, runCli } from './command-line.ts';

const HELP = `Usage: npm run eval -- [options]

Quality of a generator checkpoint against the held-out real images:
  KID   kernel distance (unbiased MMD^2, cubic kernel) of image features; 0 = same distribution
  FID   Fréchet distance of Gaussian fits of the same features; 0 = same distribution
  sneaker   share of generated images the Fashion-MNIST classifier calls "Sneaker" (arg-max)
  p>0.9     share it calls "Sneaker" with probability > 0.9 (stricter: blobs pass arg-max, not this)
Features: colour models use ${perceptualMetricId()} (nsfwjs's MobileNetV2, ImageNet backbone
fine-tuned by that project, global pool, 1280-d; KID ± its standard error); grey models use
shoebot's own small classifier (models/classifier, 128-d; KID ± spread over subsets). Neither
is Inception: compare figures with each other and with the --reference rows, not with published FIDs.

Options:
  --checkpoint VERSION   checkpoint to evaluate  [the active one in MODELS_DIR]
  --dataset NAME|DIR     real images (held-out split)  [the checkpoint's dataset, else ${DEFAULT_DATASET}]
  --n N                  generated samples  [1000]
  --seed S               latent seed of the samples  [20171]
  --reference            also print real-vs-real and untrained-generator figures
  --save                 store the figures in the checkpoint's metadata
  --json                 print JSON instead of a table
  --models-dir DIR       overrides MODELS_DIR;  --data-dir DIR overrides DATA_DIR
  -h, --help             this text
`;

interface Row {
  label: string;
  m: QualityMetrics;
  seconds: number;
}

async function timed(label: string, f: () => Promise<QualityMetrics>): Promise<Row> {
  const t = Date.now();
  const m = await f();
  return { label, m, seconds: (Date.now() - t) / 1000 };
}

/** Evenly spaced training images as [-1, 1] floats: the "real" side of real-vs-real. */
function trainSample(
  ds: Dataset,
  n: number,
): { pixels: Float32Array; shape: { n: number; h: number; w: number; c: number } } {
  const { height: h, width: w, channels: c, trainCount } = ds.meta;
  const per = h * w * c;
  const k = Math.min(n, trainCount);
  const pixels = new Float32Array(k * per);
  for (let i = 0; i < k; i++) {
    const src = Math.floor((i * trainCount) / k) * per;
    for (let p = 0; p < per; p++) pixels[i * per + p] = ds.train[src + p] / 127.5 - 1;
  }
  return { pixels, shape: { n: k, h, w, c } };
}

type Loaded = Awaited<ReturnType<typeof loadGeneratorCheckpoint>>;

/** The checkpoint to evaluate (optional with --reference: figures for a fresh install) and the dataset it was trained on. */
async function loadCheckpoint(modelsDir: string, version: string | undefined, reference: boolean) {
  try {
    const ckpt: Loaded = await loadGeneratorCheckpoint(modelsDir, version);
    const datasetName = (await readCheckpointMeta(modelsDir, ckpt.version)).trainer?.datasetName;
    return { ckpt, datasetName };
  } catch (err) {
    if (!reference || version) throw err;
    process.stderr.write(`no checkpoint evaluated: ${(err as Error).message}\n`);
    return {};
  }
}

/** The model shape to judge: the checkpoint's, else (untrained reference only) the dataset's at ngf 32. */
function modelConfig(ckpt: Loaded | undefined, ds: Dataset): GanConfig {
  const cfg: GanConfig = ckpt?.config ?? {
    imageSize: ds.meta.height as 32 | 64 | 128,
    channels: ds.meta.channels,
    nz: 100,
    ngf: 32,
    ndf: 32,
  };
  if (ckpt && (cfg.imageSize !== ds.meta.height || cfg.channels !== ds.meta.channels)) {
    process.stderr.write(
      `note: checkpoint makes ${cfg.imageSize}x${cfg.imageSize}x${cfg.channels} images, ` +
        `dataset ${ds.meta.name} is ${ds.meta.height}x${ds.meta.width}x${ds.meta.channels}; both are compared as 32x32 grey\n`,
    );
  }
  return cfg;
}

/** The --reference rows: training images vs held-out (near the floor), and an untrained generator (the ceiling). */
async function referenceRows(ds: Dataset, cfg: GanConfig, opts: { n: number; latentSeed: number }): Promise<Row[]> {
  const real = await timed(`real: ${Math.min(opts.n, ds.meta.trainCount)} training images`, () =>
    compareSamples(trainSample(ds, opts.n), {
      images: ds.heldout,
      height: ds.meta.height,
      width: ds.meta.width,
      channels: ds.meta.channels,
      background: ds.meta.background,
    }),
  );
  const untrained = buildGenerator(cfg);
  const row = await timed(`untrained generator (ngf=${cfg.ngf})`, () => evaluateGenerator(untrained, cfg, ds, opts));
  untrained.dispose();
  return [real, row];
}

/** --save: the figures go into the checkpoint's metadata (what the quality gate and /train status read). */
async function saveFigures(modelsDir: string, version: string, m: QualityMetrics): Promise<void> {
  await updateCheckpointMetrics(modelsDir, version, {
    kid: m.kid,
    ...(Number.isFinite(m.kidStd) ? { kidStd: m.kidStd } : {}),
    ...(m.kidSe !== undefined ? { kidSe: m.kidSe } : {}),
    metric: m.metric,
    fid: m.fid,
    sneakerShare: m.sneakerShare,
    confidentSneakerShare: m.confidentSneakerShare,
    evalN: m.n,
  });
}

/** The rows as a table on stdout. */
function printTable(ds: Dataset, rows: Row[]): void {
  const features = [...new Set(rows.map((r) => r.m.metric))].join(', ');
  process.stdout.write(
    `dataset ${ds.meta.name}: ${ds.meta.heldoutCount} held-out images; features ${features}; backend ${backendInfo()?.label}\n\n`,
  );
  const w = Math.max(...rows.map((r) => r.label.length), 10);
  process.stdout.write(
    `${'source'.padEnd(w)}  ${'n'.padStart(5)}  ${'KID'.padStart(17)}  ${'FID'.padStart(8)}  ` +
      `${'sneaker'.padStart(7)}  ${'p>0.9'.padStart(6)}  ${'time'.padStart(6)}\n`,
  );
  for (const r of rows) {
    const kid = `${r.m.kid.toFixed(4)} ± ${(r.m.kidSe ?? r.m.kidStd).toFixed(4)}`;
    process.stdout.write(
      `${r.label.padEnd(w)}  ${String(r.m.n).padStart(5)}  ${kid.padStart(17)}  ${r.m.fid.toFixed(2).padStart(8)}  ` +
        `${(100 * r.m.sneakerShare).toFixed(1).padStart(6)}%  ${(100 * r.m.confidentSneakerShare).toFixed(1).padStart(5)}%  ` +
        `${r.seconds.toFixed(1).padStart(5)}s\n`,
    );
  }
}

function parseEvalArgs() {
  const args = parseCommandLine(
    {
      options: {
        checkpoint: { type: 'string' },
        dataset: { type: 'string' },
        n: { type: 'string', default: '1000' },
        seed: { type: 'string', default: '20171' },
        reference: { type: 'boolean', default: false },
        save: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'models-dir': { type: 'string' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    HELP,
  );
  if (typeof args === 'number') return args;
  const n = Number(args.n);
  const seed = Number(args.seed);
  if (!Number.isInteger(n) || n < 2 || n > 10_000)
    throw new Error(`--n must be an integer in 2..10000, got "${args.n}"`);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got "${args.seed}"`);
  return { ...args, n, seed };
}

async function main(): Promise<number> {
  const args = parseEvalArgs();
  if (typeof args === 'number') return args;
  const cfgEnv = config();
  const modelsDir = args['models-dir'] ?? cfgEnv.MODELS_DIR;
  const dataDir = args['data-dir'] ?? cfgEnv.DATA_DIR;
  await initTf(cfgEnv.TF_BACKEND);

  const { ckpt, datasetName } = await loadCheckpoint(modelsDir, args.checkpoint, args.reference);
  const ds = await loadDataset(resolveDatasetDir(args.dataset ?? datasetName ?? DEFAULT_DATASET, dataDir));
  const cfg = modelConfig(ckpt, ds);
  const opts = { n: args.n, latentSeed: args.seed };
  const rows: Row[] = [];
  if (ckpt) {
    const label = `checkpoint ${ckpt.version} (step ${ckpt.step})`;
    rows.push(await timed(label, () => evaluateGenerator(ckpt.model, cfg, ds, opts)));
  }
  if (args.reference) rows.push(...(await referenceRows(ds, cfg, opts)));
  if (ckpt && args.save) await saveFigures(modelsDir, ckpt.version, rows[0].m);
  ckpt?.model.dispose();

  if (args.json) {
    const json = {
      dataset: ds.meta.name,
      heldout: ds.meta.heldoutCount,
      backend: backendInfo()?.name,
      rows: rows.map((r) => ({ label: r.label, ...r.m, seconds: r.seconds })),
    };
    process.stdout.write(JSON.stringify(json, null, 2) + '\n');
    return 0;
  }
  printTable(ds, rows);
  if (ckpt && args.save) process.stdout.write(`\nstored in checkpoint ${ckpt.version}\n`);
  return 0;
}

runCli('eval', main);
