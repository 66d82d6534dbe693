/**
 * `npm run generate -- --count 4 --seed 42 --out shoes.png`: designs from a
 * checkpoint (the active one by default) as one PNG grid. The same seed and
 * checkpoint give the same bytes: latents come from shoebot's seeded PRNG and
 * the generator runs in inference mode.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { config } from '../config/env.ts';
import { initTf } from '../tf/index.ts';
import { loadGeneratorCheckpoint } from '../gan/checkpoint-load.ts';
import { generate, outputShape } from '../gan/generate.ts';
import { latentsForSeed } from '../gan/latent.ts';
import { renderGrid } from '../render/grid.ts';
import { joinNegativeValues } from './train-args.ts';

const HELP = `Usage: npm run generate -- [options]

Generates sneaker designs with a trained generator and writes them as one PNG grid.

  --count N          designs (1-64, default 4)
  --seed N           integer seed 0-2147483647 (default: random, printed); the same seed and
                     checkpoint always give the same image
  --out FILE         PNG to write (default shoes.png)
  --checkpoint V     checkpoint version (default: the active one in MODELS_DIR/manifest.json)
  --models-dir DIR   default: MODELS_DIR (models)
  --tile PX          size of each design in the grid after upscaling (default 128)
  --cols N           designs per row (default: a square-ish grid)
  --labels           print each design's index under it
  --backend B        auto | wasm | cpu | tensorflow (default: TF_BACKEND)
  -h, --help         this help`;

function fail(msg: string): never {
  process.stderr.write(`generate: ${msg}\n`);
  process.exit(2);
}

function int(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n)) fail(`--${name} must be an integer, got "${v}"`);
  if (n < min || n > max) fail(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      // "--seed -3" would otherwise be "ambiguous" instead of reaching the range check.
      args: joinNegativeValues(process.argv.slice(2), ['count', 'seed', 'tile', 'cols']),
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        count: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        checkpoint: { type: 'string' },
        'models-dir': { type: 'string' },
        tile: { type: 'string' },
        cols: { type: 'string' },
        labels: { type: 'boolean' },
        backend: { type: 'string' },
      },
    }));
  } catch (err) {
    fail(`${(err as Error).message.split('\n')[0]} (see --help)`);
  }
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return;
  }
  const count = int('count', values.count, 1, 64) ?? 4;
  let seed = Math.floor(Math.random() * 2 ** 31);
  if (values.seed !== undefined) {
    const n = Number(values.seed);
    if (values.seed.trim() === '' || !Number.isInteger(n) || n < 0 || n > 2147483647) {
      fail(`seed must be an integer from 0 to 2147483647, got "${values.seed}"`);
    }
    seed = n;
  }
  const tile = int('tile', values.tile, 8, 1024) ?? 128;
  const cols = int('cols', values.cols, 1, 64);
  const out = values.out ?? 'shoes.png';
  const backend = values.backend ?? config().TF_BACKEND;
  if (!['auto', 'wasm', 'cpu', 'tensorflow'].includes(backend))
    fail(`--backend must be auto, wasm, cpu or tensorflow, got "${backend}"`);
  const modelsDir = values['models-dir'] ?? config().MODELS_DIR;

  await initTf(backend as 'auto');
  const g = await loadGeneratorCheckpoint(modelsDir, values.checkpoint);
  try {
    const latents = latentsForSeed(seed, count, g.config.nz);
    const pixels = await generate(g.model, latents, count);
    const png = await renderGrid(pixels, outputShape(g.model, count), {
      tile,
      ...(cols !== undefined ? { cols } : {}),
      ...(values.labels ? { labels: Array.from({ length: count }, (_, i) => String(i + 1)) } : {}),
    });
    await fs.mkdir(path.dirname(path.resolve(out)), { recursive: true });
    await fs.writeFile(out, png);
    process.stdout.write(`${out}: ${count} design(s), seed ${seed}, checkpoint ${g.version} (step ${g.step})\n`);
  } finally {
    g.model.dispose();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`generate: ${err.message}\n`);
  process.exit(1);
});
