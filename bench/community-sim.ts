/**
 * The simulation behind `npm run bench:community` (bench/community.ts) and
 * test/bot/community.test.ts: voters with a known preference about a property of the real
 * generator's images, their thresholds, and one simulated community (designs posted, votes cast,
 * the guild's taste fitted as the bot does, fresh seeds drawn plain and community-steered).
 */
import type { LoadedGenerator } from '../src/gan/checkpoint-load.ts';
import { generate } from '../src/gan/generate.ts';
import { latentsForSeed, Rng } from '../src/gan/latent.ts';
import { Store } from '../src/bot/store.ts';
import { CommunityTaste } from '../src/bot/community.ts';
import type { CommunityFit } from '../src/bot/community-fit.ts';

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
