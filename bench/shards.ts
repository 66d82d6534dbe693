/**
 * `npm run bench:shards [-- --shards N --guilds G]`: `npm run start:shards`
 * as real processes against the fake Discord (which recommends N shards and
 * spreads G guilds over them), with the checkpoint active under MODELS_DIR
 * (copied to a temp dir) and a temp SQLite database. Prints the time from
 * start to all shards ready, each shard's time from fork to ready, resident
 * memory of the manager and of each shard, one /shoe per shard, and the time
 * SIGTERM takes to stop everything; then the same bot as one process
 * (`npm start`) for comparison. The manager runs without the trainer unless
 * --trainer is given. Figures depend on the machine's load.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/env.ts';
import { FakeDiscord } from '../test/fake-discord/server.ts';
import { guildIdOnShard } from '../test/fake-discord/snowflakes.ts';

const argv = process.argv.slice(2);
if (argv.includes('--help')) {
  console.log(
    'Usage: npm run bench:shards -- [--shards N (2)] [--guilds G (4)] [--trainer (the manager runs the trainer service)]',
  );
  process.exit(0);
}
const opt = (name: string, dflt: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const SHARDS = opt('--shards', 2);
const GUILDS = Math.max(SHARDS, opt('--guilds', 4));
const ROOT = path.resolve(import.meta.dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`;

const guilds = Array.from({ length: GUILDS }, (_, i) => ({
  id: guildIdOnShard(i % SHARDS, SHARDS),
  name: `Guild ${i}`,
}));
const fake = await FakeDiscord.start({ guilds, recommendedShards: SHARDS });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoebot-bench-shards-'));
const modelsDir = path.join(dir, 'models');
fs.cpSync(path.resolve(ROOT, loadConfig().MODELS_DIR), modelsDir, { recursive: true });
const env: NodeJS.ProcessEnv = {
  ...process.env,
  DISCORD_TOKEN: fake.token,
  DISCORD_API_BASE: fake.apiBase,
  DATABASE_URL: `file:${path.join(dir, 'bot.db')}`,
  MODELS_DIR: modelsDir,
  DATA_DIR: path.join(dir, 'data'),
  SHARD_COUNT: 'auto',
  SHARD_SPAWN_DELAY_MS: '0',
  TRAINER_MODE: argv.includes('--trainer') ? 'auto' : 'off',
  LOG_LEVEL: 'info',
};
delete env.DISCORD_GUILD_ID;

/** Starts a process, collecting its JSON log lines. */
function run(script: string) {
  const lines: Record<string, any>[] = [];
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buf = '';
  child.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      try {
        lines.push(JSON.parse(buf.slice(0, i)));
      } catch {
        // not JSON
      }
      buf = buf.slice(i + 1);
    }
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const waitFor = async (pred: (l: Record<string, any>) => boolean, timeoutMs = 180_000) => {
    const t0 = Date.now();
    for (;;) {
      const hit = lines.find(pred);
      if (hit) return hit;
      if (child.exitCode !== null) throw new Error(`${script} exited (${child.exitCode})`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out in ${script}`);
      await sleep(50);
    }
  };
  return { child, lines, exited, waitFor };
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

async function shoeLatency(guildIndex: number): Promise<number> {
  const g = fake.guilds[guildIndex];
  const t0 = performance.now();
  const it = fake.sendCommand({
    name: 'shoe',
    options: { count: 4 },
    user: `10000000000000${String(1000 + guildIndex)}`,
    guildId: g.id,
    channelId: g.channels[0].id,
  });
  await fake.waitForReply(it, { timeoutMs: 60_000 });
  return performance.now() - t0;
}

try {
  console.log(
    `load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} (${os.cpus().length} cores)`,
  );
  const t0 = performance.now();
  const sharded = run('src/bin/shards.ts');
  const ready = await sharded.waitFor((l) => l.msg === 'all shards ready');
  const wall = performance.now() - t0;
  const mem = await sharded.waitFor((l) => l.msg === 'memory after start-up');
  console.log(
    `\nnpm run start:shards, ${SHARDS} shards, ${GUILDS} guilds, TRAINER_MODE=${env.TRAINER_MODE} in the manager`,
  );
  console.log(
    `  start-up to all shards ready: ${ready.startupMs} ms in the manager (${wall.toFixed(0)} ms from the command, tsx start-up included)`,
  );
  for (const l of sharded.lines.filter((x) => x.msg === 'shard ready'))
    console.log(`  shard ${l.shard}: fork -> ready ${l.ms} ms`);
  console.log(
    `  RSS manager ${mem.managerRssMB} MB; shards ${Object.entries(mem.shardRssMB as Record<string, number>)
      .map(([k, v]) => `#${k} ${v} MB`)
      .join(', ')}`,
  );
  for (let s = 0; s < SHARDS; s++)
    console.log(
      `  /shoe count:4 in a guild of shard ${s}: ${(await shoeLatency(s)).toFixed(0)} ms (first request, cold)`,
    );
  const tStop = performance.now();
  sharded.child.kill('SIGTERM');
  await sharded.exited;
  console.log(`  SIGTERM -> manager exited (${sharded.child.exitCode}): ${(performance.now() - tStop).toFixed(0)} ms`);

  const t1 = performance.now();
  const single = run('src/bin/bot.ts');
  await single.waitFor((l) => l.msg === 'connected to Discord');
  const singleMs = performance.now() - t1;
  await sleep(1000);
  console.log(`\nnpm start (one process, all ${GUILDS} guilds, TRAINER_MODE=${env.TRAINER_MODE})`);
  console.log(`  start-up to connected: ${singleMs.toFixed(0)} ms; RSS ${mb(rssOf(single.child.pid!))}`);
  single.child.kill('SIGTERM');
  await single.exited;
} finally {
  await fake.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
