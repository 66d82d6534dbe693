/**
 * `npm run bench:community`: does /shoe mode:community give a server's members designs they like
 * more often than plain /shoe? Simulated voters with a known preference, the real default
 * generator (models/), a real SQLite database through the bot's own repositories, the bot's own
 * taste fit and sampler.
 *
 * Per simulated community: `rounds` plain /shoe grids of 4 designs are stored as posted designs;
 * each of `voters` members upvotes the designs whose property beats their personal threshold (the
 * 50/60/70/80/90th percentile of plain designs for 5 voters), with a `lapse` chance of getting it
 * wrong (a missed vote, a stray one). Then the guild's taste is fitted exactly as the bot does, and
 * `evalSeeds` fresh seeds are drawn both plain and community-steered (same seeds: paired). The
 * figure is the share of (design, voter) pairs the voters would upvote (their rule, no lapses) and
 * the mean of the property. Independent communities (different voting histories) give the spread
 * and a 95% confidence interval of the gain. Two preferences that pull in different directions
 * ("darker" = less ink, "taller" = high-tops, which have MORE ink) show it isn't an artefact.
 *
 *   npm run bench:community -- [--communities 6] [--rounds 50] [--eval-seeds 100]
 *                              [--strengths 0.3,0.6,1] [--voters 5] [--lapse 0.1] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { initTf, tf } from '../src/tf/index.ts';
import { loadGeneratorCheckpoint, type LoadedGenerator } from '../src/gan/checkpoint-load.ts';
import { generate } from '../src/gan/generate.ts';
import { latentsForSeed, Rng } from '../src/gan/latent.ts';
import { openDatabase } from '../src/db/client.ts';
import { Store } from '../src/bot/store.ts';
import { CommunityTaste } from '../src/bot/community.ts';
import type { CommunityFit } from '../src/bot/community-fit.ts';
import { createLogger, setRootLogger } from '../src/log.ts';

/** A property of a generated image ([h*w*c] in [-1, 1]) that simulated voters care about. */
export interface Preference {
  name: string;
  what: string;
  measure(img: Float32Array, h: number, w: number): number;
}

/** Mean brightness of the design in [0, 1] (Fashion-MNIST style: bright shoe on black). */
function ink(img: Float32Array): number {
  let s = 0;
  for (let i = 0; i < img.length; i++) s += (img[i] + 1) / 2;
  return s / img.length;
}

/** Rows (of h) the shoe occupies: rows whose mean brightness exceeds 0.08. */
function heightRows(img: Float32Array, h: number, w: number): number {
  let first = -1;
  let last = -1;
  for (let y = 0; y < h; y++) {
    let s = 0;
    for (let x = 0; x < w; x++) s += (img[y * w + x] + 1) / 2;
    if (s / w > 0.08) {
      if (first < 0) first = y;
      last = y;
    }
  }
  return first < 0 ? 0 : last - first + 1;
}

export const PREFERENCES: Record<'darker' | 'taller', Preference> = {
  darker: { name: 'darker', what: 'less ink (mean brightness, lower = darker)', measure: (img) => -ink(img) },
  taller: {
    name: 'taller',
    what: 'taller silhouettes (rows the shoe spans: high-tops)',
    measure: (img, h, w) => heightRows(img, h, w),
  },
};

/** Property values of designs drawn from `latents` ([n, nz]). */
export async function measureLatents(
  gen: LoadedGenerator,
  latents: Float32Array,
  n: number,
  pref: Preference,
): Promise<number[]> {
  const nz = gen.config.nz;
  const { imageSize: s, channels: c } = gen.config;
  const out: number[] = [];
  for (let o = 0; o < n; o += 8) {
    const k = Math.min(8, n - o);
    const px = await generate(gen.model, latents.subarray(o * nz, (o + k) * nz), k);
    for (let i = 0; i < k; i++) out.push(pref.measure(px.subarray(i * s * s * c, (i + 1) * s * s * c), s, s * c));
  }
  return out;
}

/** Voter thresholds: evenly spaced upper percentiles (50..90 % for 5 voters) of plain designs. */
export async function voterThresholds(
  gen: LoadedGenerator,
  pref: Preference,
  voters: number,
  sample = 256,
): Promise<number[]> {
  const vals = (await measureLatents(gen, latentsForSeed(777_000, sample, gen.config.nz), sample, pref)).sort(
    (a, b) => a - b,
  );
  return Array.from({ length: voters }, (_, v) => {
    const q = voters === 1 ? 0.7 : 0.5 + (0.4 * v) / (voters - 1);
    return vals[Math.min(vals.length - 1, Math.floor(q * vals.length))];
  });
}

/** Share of (design, voter) pairs the voters' rule upvotes. */
const shareLiked = (vals: number[], thr: number[]) =>
  vals.reduce((s, x) => s + thr.filter((t) => x > t).length, 0) / (vals.length * thr.length);
const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / Math.max(1, a.length);

export interface CommunityRun {
  fit: Pick<CommunityFit, 'votedDesigns' | 'votes' | 'shown' | 'signal' | 'shrink' | 'norm' | 'fingerprint' | 'fitMs'>;
  plain: { share: number; mean: number };
  steered: Record<string, { share: number; mean: number }>;
}

/**
 * One simulated community: `rounds` voted grids stored in `store` under `guildId`, then plain vs
 * community designs for `evalSeeds` seeds at each strength. No tensor outlives the call.
 */
export async function simulateCommunity(opts: {
  gen: LoadedGenerator;
  store: Store;
  guildId: string;
  pref: Preference;
  thresholds: number[];
  rounds: number;
  evalSeeds: number;
  strengths: number[];
  lapse?: number;
  seed: number;
  /** First evaluation seed (default 90,000,000; give each community its own for independent samples). */
  evalBase?: number;
}): Promise<CommunityRun> {
  const { gen, store, guildId, pref, thresholds } = opts;
  const nz = gen.config.nz;
  const rng = new Rng(opts.seed);
  const lapse = opts.lapse ?? 0.1;
  for (let r = 0; r < opts.rounds; r++) {
    const seed = opts.seed * 1000 + r;
    const z = latentsForSeed(seed, 4, nz);
    const vals = await measureLatents(gen, z, 4, pref);
    const designs = await store.createDesigns(
      vals.map((_, i) => ({
        seed,
        gridIndex: i,
        latent: z.slice(i * nz, (i + 1) * nz),
        checkpointVersion: gen.version,
        kind: 'shoe' as const,
        guildId,
        channelId: 'bench',
        requesterId: 'bench',
      })),
    );
    await store.attachMessage(
      designs.map((d) => d.id),
      `${guildId}-m${r}`,
    );
    for (let v = 0; v < thresholds.length; v++) {
      for (let i = 0; i < 4; i++) {
        let up = vals[i] > thresholds[v];
        if (rng.uniform() < lapse) up = !up;
        if (up) await store.addVote(`voter-${v}`, designs[i].id);
      }
    }
  }
  const taste = new CommunityTaste(store);
  const served = { version: gen.version, nz };
  const fit = await taste.get(guildId, served);
  const plainVals: number[] = [];
  const steeredVals = new Map<number, number[]>(opts.strengths.map((s) => [s, []]));
  for (let e = 0; e < opts.evalSeeds; e++) {
    const seed = (opts.evalBase ?? 90_000_000) + e;
    plainVals.push(...(await measureLatents(gen, latentsForSeed(seed, 4, nz), 4, pref)));
    for (const s of opts.strengths) {
      const { latents } = await taste.sample(guildId, served, seed, 4, s);
      steeredVals.get(s)!.push(...(await measureLatents(gen, latents, 4, pref)));
    }
  }
  return {
    fit: {
      votedDesigns: fit.votedDesigns,
      votes: fit.votes,
      shown: fit.shown,
      signal: fit.signal,
      shrink: fit.shrink,
      norm: fit.norm,
      fingerprint: fit.fingerprint,
      fitMs: fit.fitMs,
    },
    plain: { share: shareLiked(plainVals, thresholds), mean: mean(plainVals) },
    steered: Object.fromEntries(
      opts.strengths.map((s) => [
        String(s),
        { share: shareLiked(steeredVals.get(s)!, thresholds), mean: mean(steeredVals.get(s)!) },
      ]),
    ),
  };
}

/** Two-sided 95% Student-t quantile for df = 1..30 (beyond: 1.96). */
function t95(df: number): number {
  const t = [
    12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.2, 2.18, 2.16, 2.14, 2.13, 2.12, 2.11, 2.1, 2.09,
    2.09, 2.08, 2.07, 2.07, 2.06, 2.06, 2.06, 2.05, 2.05, 2.05, 2.04,
  ];
  return df >= 1 && df <= 30 ? t[df - 1] : 1.96;
}

/** Mean, standard deviation and 95% CI half-width of a sample. */
export function summarise(xs: number[]): { mean: number; sd: number; ci95: number } {
  const m = mean(xs);
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean: m, sd, ci95: xs.length > 1 ? (t95(xs.length - 1) * sd) / Math.sqrt(xs.length) : NaN };
}

const HELP = `npm run bench:community -- [options]

Simulated voters with a known preference vote on plain /shoe designs of the real default
generator; the bot's community taste is fitted from those votes (real SQLite, real repositories),
and community-steered designs are compared with plain ones on fresh seeds.

  --communities N   independent simulated communities per preference (default 6)
  --rounds N        voted /shoe grids (4 designs) per community (default 50)
  --eval-seeds N    fresh seeds (x4 designs) compared per community (default 100)
  --strengths L     comma-separated strengths (default 0.3,0.6,1)
  --voters N        simulated members (default 5)
  --lapse P         chance a voter gets a vote wrong (default 0.1)
  --prefs L         darker,taller (default both)
  --fit-size N      also time a fit over N stored designs (default 5000; 0: skip)
  --models DIR      checkpoints (default MODELS_DIR or models)
  --json            print the figures as JSON
  --help            this text`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      communities: { type: 'string', default: '6' },
      rounds: { type: 'string', default: '50' },
      'eval-seeds': { type: 'string', default: '100' },
      strengths: { type: 'string', default: '0.3,0.6,1' },
      voters: { type: 'string', default: '5' },
      lapse: { type: 'string', default: '0.1' },
      prefs: { type: 'string', default: 'darker,taller' },
      'fit-size': { type: 'string', default: '5000' },
      models: { type: 'string', default: process.env.MODELS_DIR ?? 'models' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const int = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number >= ${min}, got "${v}"`);
    return n;
  };
  const communities = int('communities', values.communities, 1);
  const rounds = int('rounds', values.rounds, 1);
  const evalSeeds = int('eval-seeds', values['eval-seeds'], 1);
  const voters = int('voters', values.voters, 1);
  const fitSize = int('fit-size', values['fit-size'], 0);
  const lapse = Number(values.lapse);
  if (!(lapse >= 0 && lapse < 0.5)) throw new Error(`--lapse must be in [0, 0.5), got "${values.lapse}"`);
  const strengths = values.strengths.split(',').map(Number);
  if (strengths.some((s) => !(s >= 0 && s <= 1)))
    throw new Error(`--strengths must be numbers in [0, 1], got "${values.strengths}"`);
  const prefs = values.prefs.split(',').map((p) => {
    const pref = PREFERENCES[p as keyof typeof PREFERENCES];
    if (!pref) throw new Error(`unknown preference "${p}" (darker, taller)`);
    return pref;
  });

  const progress = (msg: string) => process.stderr.write(`[bench:community] ${msg}\n`);
  // Figures on stdout, not the database's migration log lines.
  setRootLogger(createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }));
  const backend = await initTf(process.env.TF_BACKEND === 'cpu' ? 'cpu' : 'wasm');
  const gen = await loadGeneratorCheckpoint(values.models);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoebot-bench-community-'));
  const db = await openDatabase(`file:${path.join(dir, 'bench.db')}`);
  const store = new Store(db);
  const tensors0 = tf.memory().numTensors;
  const t0 = performance.now();
  const report: Record<string, unknown> = {
    generator: gen.version,
    backend: backend.label,
    loadavg: os.loadavg().map((x) => +x.toFixed(2)),
    settings: { communities, rounds, evalSeeds, strengths, voters, lapse },
    preferences: {} as Record<string, unknown>,
  };
  try {
    for (const pref of prefs) {
      const thresholds = await voterThresholds(gen, pref, voters);
      const runs: CommunityRun[] = [];
      for (let c = 0; c < communities; c++) {
        progress(`${pref.name}: community ${c + 1}/${communities} (${rounds} voted grids, ${evalSeeds} eval seeds)`);
        runs.push(
          await simulateCommunity({
            gen,
            store,
            guildId: `${pref.name}-${c}`,
            pref,
            thresholds,
            rounds,
            evalSeeds,
            strengths,
            lapse,
            seed: 100 + c + (pref.name === 'taller' ? 50 : 0),
            // Fresh evaluation seeds per community: the CI then covers the sampling of designs too.
            evalBase: 90_000_000 + c * 100_000,
          }),
        );
      }
      const plain = summarise(runs.map((r) => r.plain.share));
      const perStrength = Object.fromEntries(
        strengths.map((s) => {
          const k = String(s);
          return [
            k,
            {
              share: summarise(runs.map((r) => r.steered[k].share)),
              gain: summarise(runs.map((r) => r.steered[k].share - r.plain.share)),
              propertyMean: summarise(runs.map((r) => r.steered[k].mean)),
              communitiesBetter: runs.filter((r) => r.steered[k].share > r.plain.share).length,
            },
          ];
        }),
      );
      (report.preferences as Record<string, unknown>)[pref.name] = {
        what: pref.what,
        thresholds,
        fit: {
          votedDesigns: summarise(runs.map((r) => r.fit.votedDesigns)),
          votes: summarise(runs.map((r) => r.fit.votes)),
          signal: summarise(runs.map((r) => r.fit.signal)),
          shrink: summarise(runs.map((r) => r.fit.shrink)),
        },
        plain: { share: plain, propertyMean: summarise(runs.map((r) => r.plain.mean)) },
        community: perStrength,
      };
    }
    // Cost of a cold fit on a big guild, and of a cached lookup (what /shoe mode:community pays).
    if (fitSize > 0) {
      progress(`timing a fit over ${fitSize} stored designs`);
      const nz = gen.config.nz;
      const rng = new Rng(5);
      for (let o = 0; o < fitSize; o += 500) {
        const k = Math.min(500, fitSize - o);
        const rows = await store.createDesigns(
          Array.from({ length: k }, (_, i) => ({
            seed: o + i,
            gridIndex: (o + i) % 4,
            latent: rng.normalArray(nz),
            checkpointVersion: gen.version,
            guildId: 'big',
            channelId: 'bench',
            messageId: `big-${Math.floor((o + i) / 4)}`,
            requesterId: 'bench',
          })),
        );
        for (const d of rows) if (rng.uniform() < 0.3) await store.addVote(`voter-${rng.int(20)}`, d.id);
      }
      const served = { version: gen.version, nz };
      // Cold: a fresh cache (bot start, or the first community request of a guild) decodes every latent.
      const cold: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        await new CommunityTaste(store).fit('big', served);
        cold.push(performance.now() - t);
      }
      const taste = new CommunityTaste(store);
      await taste.get('big', served);
      const warm: number[] = [];
      for (let i = 0; i < 200; i++) {
        const t = performance.now();
        await taste.sample('big', served, i, 4, 0.6);
        warm.push(performance.now() - t);
      }
      const t = performance.now();
      for (let i = 0; i < 20; i++) await taste.get('big', { ...served }).then(() => taste.noteVote('big'));
      const stale = (performance.now() - t) / 20;
      taste.close();
      report.cost = {
        designs: fitSize,
        coldFitMs: summarise(cold),
        cachedSampleMs: summarise(warm),
        refitAfterVoteMs: stale,
      };
    }
    report.tensorsLeaked = tf.memory().numTensors - tensors0;
  } finally {
    await db.$disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
    gen.model.dispose();
  }
  report.seconds = +((performance.now() - t0) / 1000).toFixed(1);
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  printReport(report);
}

function printReport(report: Record<string, unknown>): void {
  const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : 'n/a');
  const s = report.settings as {
    communities: number;
    rounds: number;
    evalSeeds: number;
    strengths: number[];
    voters: number;
    lapse: number;
  };
  console.log(
    `Community steering vs plain sampling — generator ${report.generator}, ${report.backend}, load ${(report.loadavg as number[]).join(' ')}`,
  );
  console.log(
    `${s.communities} simulated communities per preference: ${s.voters} voters (thresholds at the 50–90th percentile of plain designs, ${pct(s.lapse)} lapses), ` +
      `${s.rounds} voted /shoe grids each, then ${s.evalSeeds} fresh seeds x 4 designs plain vs community (paired).`,
  );
  console.log('"liked" = share of (design, voter) pairs a voter would upvote; ± = 95% CI over communities.\n');
  for (const [name, p] of Object.entries(report.preferences as Record<string, any>)) {
    console.log(`${name}: ${p.what}`);
    console.log(
      `  fit: ${p.fit.votedDesigns.mean.toFixed(0)} voted designs, ${p.fit.votes.mean.toFixed(0)} votes, ` +
        `signal ${p.fit.signal.mean.toFixed(1)}x chance, shift factor (est. cosine) ${p.fit.shrink.mean.toFixed(2)}`,
    );
    console.log(
      `  plain          liked ${pct(p.plain.share.mean)} ± ${pct(p.plain.share.ci95)}   property ${p.plain.propertyMean.mean.toFixed(3)}`,
    );
    for (const k of s.strengths.map(String)) {
      const c = p.community[k];
      console.log(
        `  community ${k.padEnd(4)} liked ${pct(c.share.mean)} ± ${pct(c.share.ci95)}   ` +
          `gain ${c.gain.mean >= 0 ? '+' : ''}${pct(c.gain.mean)} ± ${pct(c.gain.ci95)} ` +
          `(sd ${pct(c.gain.sd)}, better in ${c.communitiesBetter}/${s.communities})   ` +
          `property ${c.propertyMean.mean.toFixed(3)}`,
      );
    }
    console.log('');
  }
  const cost = report.cost as
    | {
        designs: number;
        coldFitMs: { mean: number; sd: number };
        cachedSampleMs: { mean: number };
        refitAfterVoteMs: number;
      }
    | undefined;
  if (cost) {
    console.log(
      `cost (guild with ${cost.designs} shown designs, 30% voted): ` +
        `first fit ${cost.coldFitMs.mean.toFixed(1)} ms (sd ${cost.coldFitMs.sd.toFixed(1)}); ` +
        `refit after a vote ${cost.refitAfterVoteMs.toFixed(1)} ms; ` +
        `cached taste + steering per /shoe ${cost.cachedSampleMs.mean.toFixed(3)} ms`,
    );
  }
  console.log(
    `tensors leaked: ${report.tensorsLeaked} · ${report.seconds} s (figures are noisy when other work shares the cores)`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
