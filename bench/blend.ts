/**
 * `npm run bench:blend [-- --blends N --json]`: /blend as a member sees it,
 * against the fake Discord in this process, with the active checkpoint under
 * MODELS_DIR (else an untrained generator of the default size: same speed).
 * Prints, per format (WebP, GIF): latency from command to posted animation,
 * time drawing the frames and rendering them (worker thread), the animation's
 * size, and the bot's event-loop delay meanwhile; then the worst case for the
 * codecs (frames of random pixels, the default 32 px grey and a 64 px RGB
 * model) encoded directly. Figures depend on the machine's load: run it on a
 * quiet machine.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../src/config/env.ts';
import { createLogger, setRootLogger } from '../src/log.ts';
import { initTf } from '../src/tf/index.ts';
import { startBot } from '../src/bot/bot.ts';
import { BLEND_SIZE } from '../src/bot/blend.ts';
import { BLEND_STEPS } from '../src/bot/blend-draw.ts';
import { pingPong, renderAnimation } from '../src/render/animation.ts';
import { FakeDiscord } from '../test/fake-discord/server.ts';
import { BENCH_ADMIN, benchBotConfig, benchGenerator, percentile } from './bot-support.ts';

const argv = process.argv.slice(2);
if (argv.includes('--help')) {
  console.log('Usage: npm run bench:blend -- [--blends N (10 per format)] [--json]');
  process.exit(0);
}
const i = argv.indexOf('--blends');
const BLENDS = i >= 0 ? Number(argv[i + 1]) : 10;
if (!Number.isInteger(BLENDS) || BLENDS < 1) {
  console.error('--blends must be a positive whole number');
  process.exit(2);
}
const asJson = argv.includes('--json');

const base = loadConfig();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'shoebot-bench-blend-'));
const info = await initTf(base.TF_BACKEND);
const generator = await benchGenerator(base.MODELS_DIR);

const fake = await FakeDiscord.start();
const config = benchBotConfig(fake, work, 'info');
// Database migrations log through the root logger: keep stdout for the figures.
setRootLogger(createLogger({ level: 'warn', destination: { write: () => undefined } }));
const logged: { drawMs: number; renderMs: number; bytes: number; format: string }[] = [];
const bot = await startBot({
  config,
  log: createLogger({
    level: 'info',
    destination: {
      write: (line: string) => {
        if (line.includes('"blend posted"')) logged.push(JSON.parse(line));
      },
    },
  }),
  generator,
  trainer: false,
});
await bot.ready;

// Designs to blend: one /shoe grid of 4 (admins are not rate-limited).
const shoe = await fake.waitForReply(
  fake.sendCommand({ name: 'shoe', options: { count: 4, seed: 42 }, user: BENCH_ADMIN }),
  { timeoutMs: 60_000 },
);
await new Promise((r) => setTimeout(r, 300)); // designs are attached to the message right after the edit
const designs = await bot.ctx.store.findDesignsByMessage(shoe.message.id);
if (designs.length !== 4) throw new Error(`expected 4 designs, got ${designs.length}`);

const pairs = designs.flatMap((a, x) => designs.slice(x + 1).map((b) => [a, b] as const));
const rows = [];
for (const format of ['webp', 'gif'] as const) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  const latencies: number[] = [];
  h.enable();
  for (let k = 0; k < BLENDS; k++) {
    const [a, b] = pairs[k % pairs.length];
    const t0 = performance.now();
    const r = await fake.waitForReply(
      fake.sendCommand({ name: 'blend', options: { a: `#${a.id}`, b: `#${b.id}`, format }, user: BENCH_ADMIN }),
      { timeoutMs: 60_000 },
    );
    latencies.push(performance.now() - t0);
    if (r.ephemeral) throw new Error(`blend refused: ${r.message.content}`);
  }
  h.disable();
  // The bot logs "blend posted" after Discord acknowledged the reply and the design was attached
  // to it, so the last line can arrive after the reply did.
  for (let waited = 0; logged.filter((m) => m.format === format).length < BLENDS && waited < 5000; waited += 20) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const mine = logged.filter((m) => m.format === format);
  rows.push({
    format,
    blends: latencies.length,
    frames: 2 * (BLEND_STEPS - 1),
    latencyP50Ms: +percentile(latencies, 50).toFixed(0),
    latencyMaxMs: +Math.max(...latencies).toFixed(0),
    drawP50Ms: percentile(
      mine.map((m) => m.drawMs),
      50,
    ),
    renderP50Ms: percentile(
      mine.map((m) => m.renderMs),
      50,
    ),
    sizeKiBMin: +(Math.min(...mine.map((m) => m.bytes)) / 1024).toFixed(0),
    sizeKiBMax: +(Math.max(...mine.map((m) => m.bytes)) / 1024).toFixed(0),
    loopP99Ms: +(h.percentile(99) / 1e6).toFixed(1),
    loopMaxMs: +(h.max / 1e6).toFixed(1),
  });
}

await bot.stop();
await fake.close();
fs.rmSync(work, { recursive: true, force: true });

// Worst case for both codecs: every pixel of every frame random.
const worst = [];
for (const [side, c] of [
  [32, 1],
  [64, 3],
] as const) {
  const px = new Float32Array(BLEND_STEPS * side * side * c);
  let s = 7;
  for (let k = 0; k < px.length; k++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    px[k] = (s / 2 ** 32) * 2 - 1;
  }
  for (const format of ['webp', 'gif'] as const) {
    const t0 = performance.now();
    const buf = await renderAnimation(
      px,
      { n: BLEND_STEPS, h: side, w: side, c },
      { format, size: BLEND_SIZE, sequence: pingPong(BLEND_STEPS) },
    );
    worst.push({
      images: `${side}x${side}x${c} random`,
      format,
      encodeMs: Math.round(performance.now() - t0),
      sizeKiB: Math.round(buf.length / 1024),
    });
  }
}

const meta = {
  backend: info.label,
  generator: `${generator.version} (${generator.config.imageSize}px x${generator.config.channels}, ngf ${generator.config.ngf}, nz ${generator.config.nz})`,
  loadAverage: +os.loadavg()[0].toFixed(2),
  cores: os.cpus().length,
};
if (asJson) console.log(JSON.stringify({ ...meta, rows, worst }, null, 2));
else {
  console.log(
    `backend ${meta.backend} · generator ${meta.generator} · load ${meta.loadAverage} on ${meta.cores} cores`,
  );
  console.table(rows);
  console.log(
    `worst case: ${2 * (BLEND_STEPS - 1)} frames of ${BLEND_SIZE} px, random pixels, encoded on the main thread`,
  );
  console.table(worst);
}
process.exit(0);
