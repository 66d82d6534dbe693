/**
 * `npm run bench:memory [-- --requests N (2000) --rate R (10)]`: the resident memory of the bot as
 * operators run it (`npm start`, its own process: not npm's, not this one's), idle after start-up
 * and while N `/shoe` arrive at R per second from distinct members, against the fake Discord. The
 * bot gets a copy of MODELS_DIR (the shipped model by default) and a throw-away database.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/env.ts';
import { PROJECT_ROOT } from '../src/db/paths.ts';
import { FakeDiscord } from '../test/fake-discord/server.ts';
import { percentile } from './bot-support.ts';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
if (argv.includes('--help')) {
  console.log('Usage: npm run bench:memory -- [--requests N (2000)] [--rate R (10 /shoe per second)]');
  process.exit(0);
}
const REQUESTS = opt('--requests', 2000);
const RATE = opt('--rate', 10);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'shoebot-bench-memory-'));
fs.cpSync(path.resolve(loadConfig().MODELS_DIR), path.join(work, 'models'), { recursive: true });
const fake = await FakeDiscord.start();
const npm = spawn('npm', ['start'], {
  cwd: PROJECT_ROOT,
  env: {
    ...process.env,
    DISCORD_TOKEN: fake.token,
    DISCORD_API_BASE: fake.apiBase,
    DISCORD_GUILD_ID: fake.guild.id,
    DATABASE_URL: `file:${path.join(work, 'bot.db')}`,
    MODELS_DIR: path.join(work, 'models'),
    DATA_DIR: path.join(work, 'data'),
    LOG_LEVEL: 'warn',
    npm_config_update_notifier: 'false',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});

const rssMB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
try {
  while (!fake.commands.guild.get(fake.guild.id)?.length) await new Promise((r) => setTimeout(r, 200));
  // `npm start` execs node: the bot is npm's only child.
  const bot = Number(fs.readFileSync(`/proc/${npm.pid}/task/${npm.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
  const samples: { sent: number; rssMB: number }[] = [{ sent: 0, rssMB: Math.round(rssMB(bot)) }];
  console.log(
    `bot pid ${bot}: ${samples[0].rssMB} MB resident after start-up (${os.loadavg()[0].toFixed(2)} load average)`,
  );
  let posted = 0;
  const privately = new Map<string, number>();
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < REQUESTS; i++) {
    const wait = t0 + (i * 1000) / RATE - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const sent = performance.now();
    const it = fake.sendCommand({ name: 'shoe', user: fake.user(String(500000000000000000n + BigInt(i))) });
    pending.push(
      fake.waitForReply(it, { timeoutMs: 120_000 }).then(
        (r) => {
          if (!r.ephemeral) {
            posted++;
            latencies.push(performance.now() - sent);
          } else privately.set(r.message.content ?? '', (privately.get(r.message.content ?? '') ?? 0) + 1);
        },
        () => void privately.set('(no answer)', (privately.get('(no answer)') ?? 0) + 1),
      ),
    );
    if ((i + 1) % 250 === 0) {
      samples.push({ sent: i + 1, rssMB: Math.round(rssMB(bot)) });
      console.log(
        `${i + 1} sent: ${samples.at(-1)!.rssMB} MB, ${posted} posted (${os.loadavg()[0].toFixed(2)} load average)`,
      );
    }
  }
  await Promise.all(pending);
  samples.push({ sent: REQUESTS, rssMB: Math.round(rssMB(bot)) });
  console.log(
    JSON.stringify({
      requests: REQUESTS,
      rate: RATE,
      posted,
      privately: Object.fromEntries(privately),
      p50ms: Math.round(percentile(latencies, 50)),
      p99ms: Math.round(percentile(latencies, 99)),
      samples,
    }),
  );
} finally {
  npm.kill('SIGTERM');
  await new Promise((r) => npm.on('exit', r));
  await fake.close();
  fs.rmSync(work, { recursive: true, force: true });
}
