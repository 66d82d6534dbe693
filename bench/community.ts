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
import { initTf, tf } from '../src/tf/index.ts';
import { loadGeneratorCheckpoint, type LoadedGenerator } from '../src/gan/checkpoint-load.ts';
import { Rng } from '../src/gan/latent.ts';
import { openDatabase } from '../src/db/client.ts';
import { Store } from '../src/bot/store.ts';
import { CommunityTaste } from '../src/bot/community.ts';
import { createLogger, setRootLogger } from '../src/log.ts';

import {
  PREFERENCES,
  simulateCommunity,
  summarise,
  voterThresholds,
  type CommunityRun,
  type Preference,
} from './community-sim.ts';

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

/** The options, checked. */
function communityOptions() {
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
  if (values.help) return undefined;
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
  return { values, communities, rounds, evalSeeds, voters, fitSize, lapse, strengths, prefs };
}
type CommunityOptions = NonNullable<ReturnType<typeof communityOptions>>;

const progress = (msg: string) => process.stderr.write(`[bench:community] ${msg}\n`);

/** One preference: `communities` independent simulated communities, summarised (plain vs each strength). */
async function measurePreference(o: CommunityOptions, pref: Preference, gen: LoadedGenerator, store: Store) {
  const { communities, rounds, evalSeeds, strengths, voters, lapse } = o;
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
  return {
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

/** A big guild: `fitSize` stored designs, 30% of them voted on by 20 members. */
async function seedBigGuild(store: Store, gen: LoadedGenerator, fitSize: number): Promise<void> {
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
}

/** Cost of a cold fit on a big guild, and of a cached lookup (what /shoe mode:community pays). */
async function measureCost(store: Store, gen: LoadedGenerator, fitSize: number) {
  progress(`timing a fit over ${fitSize} stored designs`);
  await seedBigGuild(store, gen, fitSize);
  const served = { version: gen.version, nz: gen.config.nz };
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
  return { designs: fitSize, coldFitMs: summarise(cold), cachedSampleMs: summarise(warm), refitAfterVoteMs: stale };
}

async function main(): Promise<void> {
  const o = communityOptions();
  if (!o) {
    console.log(HELP);
    return;
  }
  const { communities, rounds, evalSeeds, strengths, voters, lapse, fitSize } = o;
  // Figures on stdout, not the database's migration log lines.
  setRootLogger(createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }));
  const backend = await initTf(process.env.TF_BACKEND === 'cpu' ? 'cpu' : 'wasm');
  const gen = await loadGeneratorCheckpoint(o.values.models);
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
    for (const pref of o.prefs)
      (report.preferences as Record<string, unknown>)[pref.name] = await measurePreference(o, pref, gen, store);
    if (fitSize > 0) report.cost = await measureCost(store, gen, fitSize);
    report.tensorsLeaked = tf.memory().numTensors - tensors0;
  } finally {
    await db.$disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
    gen.model.dispose();
  }
  report.seconds = +((performance.now() - t0) / 1000).toFixed(1);
  if (o.values.json) {
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

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
