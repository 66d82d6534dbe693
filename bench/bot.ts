/**
 * `npm run bench:bot [-- --requests N --users U --burst --train --json]`: the bot
 * under load against the fake Discord, in this process: /shoe latency (as a
 * member sees it: command sent -> image posted), forward passes and batch
 * sizes, and the bot's event-loop delay — idle, under /shoe load, and under
 * the same load while a training run goes on in the trainer child process.
 *
 * Uses the active checkpoint under MODELS_DIR (else an untrained generator of
 * the default size: same speed) and, with --train, the dataset under DATA_DIR.
 * Figures depend on the machine's load: run it on a quiet machine.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../src/config/env.ts';
import { createLogger } from '../src/log.ts';
import { initTf } from '../src/tf/index.ts';
import { DEFAULT_DATASET, resolveDatasetDir } from '../src/data/dataset.ts';
import { startBot } from '../src/bot/bot.ts';
import { FakeDiscord } from '../test/fake-discord/server.ts';
import { BENCH_ADMIN, benchBotConfig, benchGenerator, percentile } from './bot-support.ts';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
if (argv.includes('--help')) {
  console.log(
    'Usage: npm run bench:bot -- [--requests N (60)] [--rate R (2 /shoe per second; 0 = as fast as --users allow)] [--users U (4)] [--burst (all N at once)] [--count C (4)] [--train] [--json]\n' +
      'SHOE_QUEUE_MAX etc. come from the environment, e.g. SHOE_QUEUE_MAX=8 npm run bench:bot -- --burst --requests 300',
  );
  process.exit(0);
}
const REQUESTS = opt('--requests', 60);
const USERS = opt('--users', 4);
const COUNT = opt('--count', 4);
const RATE = opt('--rate', 2);
const withTraining = argv.includes('--train');
// Everybody at once (members of a big server reacting to the same announcement): measures the SHOE_QUEUE_MAX bound.
const BURST = argv.includes('--burst');
const asJson = argv.includes('--json');

const base = loadConfig();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'shoebot-bench-'));
const info = await initTf(base.TF_BACKEND);

const generator = await benchGenerator(base.MODELS_DIR);

let dataset: string | undefined;
if (withTraining) {
  try {
    dataset = resolveDatasetDir(DEFAULT_DATASET, base.DATA_DIR);
  } catch {
    console.error(
      `--train: no dataset under ${base.DATA_DIR} (npm run data:import -- --source fashion-mnist); skipped`,
    );
  }
}

const fake = await FakeDiscord.start();
const config = benchBotConfig(fake, work, 'warn');
const bot = await startBot({
  config,
  log: createLogger({ level: 'warn', destination: { write: () => undefined } }),
  generator,
  trainer: {
    schedule: false,
    forwardStderr: false,
    args: dataset ? ['--dataset', dataset, '--no-eval', '--log-every', '5'] : [],
  },
});
await bot.ready;

async function phase(name: string, load: boolean) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  const passes0 = bot.ctx.generation.stats.passes;
  const images0 = bot.ctx.generation.stats.images;
  const latencies: number[] = [];
  const drawnMs: number[] = [];
  const busyMs: number[] = [];
  let failures = 0;
  // The first request of the phase (the first /shoe after start-up in the first loaded phase).
  let firstMs = NaN;
  let sent = 0;
  h.enable();
  const t0 = performance.now();
  const one = async () => {
    const first = sent++ === 0;
    const s = performance.now();
    const r = await fake.waitForReply(
      fake.sendCommand({ name: 'shoe', options: { count: COUNT }, user: BENCH_ADMIN }),
      { timeoutMs: 60_000 },
    );
    const ms = performance.now() - s;
    if (r.ephemeral) failures++;
    if (r.ephemeral && r.message.content.includes('busy')) busyMs.push(ms);
    if (!r.ephemeral) drawnMs.push(ms);
    latencies.push(ms);
    if (first) firstMs = ms;
  };
  if (load && BURST) {
    await Promise.all(Array.from({ length: REQUESTS }, one));
  } else if (load && RATE > 0) {
    // Open loop: requests arrive at a steady rate, as from a busy server's members.
    const pending: Promise<void>[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      pending.push(one());
      await new Promise((r) => setTimeout(r, 1000 / RATE));
    }
    await Promise.all(pending);
  } else if (load) {
    let next = 0;
    // Users are admins here so the per-user rate limit does not throttle the benchmark.
    await Promise.all(
      Array.from({ length: USERS }, async () => {
        while (next < REQUESTS) {
          next++;
          await one();
        }
      }),
    );
  } else {
    await new Promise((r) => setTimeout(r, 2000));
  }
  const seconds = (performance.now() - t0) / 1000;
  h.disable();
  const passes = bot.ctx.generation.stats.passes - passes0;
  const images = bot.ctx.generation.stats.images - images0;
  return {
    phase: name,
    requests: latencies.length,
    failures,
    latencyP50Ms: +percentile(latencies, 50).toFixed(1),
    latencyP95Ms: +percentile(latencies, 95).toFixed(1),
    latencyP99Ms: +percentile(latencies, 99).toFixed(1),
    firstMs: +firstMs.toFixed(1),
    // With images vs told "busy": what the two kinds of members felt.
    drawnP99Ms: +percentile(drawnMs, 99).toFixed(1),
    busy: busyMs.length,
    busyP99Ms: +percentile(busyMs, 99).toFixed(1),
    requestsPerSecond: +(latencies.length / seconds).toFixed(2),
    passes,
    imagesPerPass: passes ? +(images / passes).toFixed(2) : 0,
    loopP50Ms: +(h.percentile(50) / 1e6).toFixed(1),
    loopP99Ms: +(h.percentile(99) / 1e6).toFixed(1),
    loopMaxMs: +(h.max / 1e6).toFixed(1),
  };
}

const loadName = BURST
  ? `/shoe x${REQUESTS} at once`
  : RATE > 0
    ? `/shoe ${RATE}/s x${REQUESTS}`
    : `/shoe x${REQUESTS} (${USERS} users back to back)`;
const rows = [await phase('idle', false), await phase(loadName, true)];
if (dataset) {
  const trainer = bot.scheduler!;
  {
    trainer.runNow('cli', 1_000_000);
    while (!trainer.currentRun?.progress) await new Promise((r) => setTimeout(r, 100));
    rows.push(await phase('idle, training', false), await phase(`${loadName}, training`, true));
    const progress = trainer.currentRun?.progress;
    trainer.requestStop();
    await trainer.waitIdle();
    if (progress) console.error(`trainer: ${progress.imagesPerSecond.toFixed(1)} img/s while serving`);
  }
}

await bot.stop();
await fake.close();
fs.rmSync(work, { recursive: true, force: true });

const meta = {
  backend: info.label,
  generator: `${generator.version} (${generator.config.imageSize}px x${generator.config.channels}, ngf ${generator.config.ngf})`,
  maxBatch: bot.ctx.generation.maxBatch,
  queueMax: bot.ctx.generation.maxQueue,
  loadAverage: +os.loadavg()[0].toFixed(2),
  cores: os.cpus().length,
};
if (asJson) {
  console.log(JSON.stringify({ ...meta, rows }, null, 2));
} else {
  console.log(
    `backend ${meta.backend} · generator ${meta.generator} · maxBatch ${meta.maxBatch} · SHOE_QUEUE_MAX ${meta.queueMax} · load ${meta.loadAverage} on ${meta.cores} cores`,
  );
  console.table(rows);
}
process.exit(0);
