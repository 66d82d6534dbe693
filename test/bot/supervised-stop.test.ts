/**
 * The bot under a supervisor: Docker's `CMD ["npm","start"]` and systemd without
 * KillMode=control-group send SIGTERM to the top pid only (npm's), and a shutdown that cannot reach
 * Discord must still end within SHUTDOWN_TIMEOUT_MS. Both run the documented command, `npm start`,
 * against the fake Discord, and signal nothing but npm's own pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../fake-discord/server.ts';
import { ALICE, expectNoUnhandled, tempDir } from './harness.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

afterEach(() => expectNoUnhandled());

interface NpmStart {
  npm: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The bot's own pid, read from its first log line (it is not npm's). */
  botPid(): Promise<number>;
  waitForLog(text: string, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function npmStart(env: Record<string, string>): NpmStart {
  // detached: its own process group, so nothing but the pid we signal is signalled.
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', npm_config_update_notifier: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  npm.stdout!.on('data', (b) => (out += b));
  npm.stderr!.on('data', (b) => (err += b));
  npm.stdout!.on('error', () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    npm.on('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  const waitForLog = async (text: string, timeoutMs = 90_000) => {
    const t0 = performance.now();
    while (!out.includes(text)) {
      if (performance.now() - t0 > timeoutMs) throw new Error(`no "${text}" in the bot's log:\n${out}\n${err}`);
      if (npm.exitCode !== null)
        throw new Error(`npm start exited (${npm.exitCode}) before "${text}":\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return {
    npm,
    stdout: () => out,
    stderr: () => err,
    async botPid() {
      await waitForLog('"pid":');
      return Number(/"pid":(\d+)/.exec(out)![1]);
    },
    waitForLog,
    exited,
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills a process this test started (an orphaned bot when the fix is missing), by pid only. */
function killIfAlive(pid: number | undefined): void {
  if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
}

/**
 * A TCP relay in front of the fake's REST API that can turn into a black hole: connections stay
 * open and every byte is swallowed, as when a route to Discord is lost (no RST, no answer).
 */
async function blackholeRelay(targetPort: number) {
  let holed = false;
  const sockets = new Set<net.Socket>();
  const requestLines: string[] = [];
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    client.on('close', () => sockets.delete(client));
    const upstream = holed ? undefined : net.connect(targetPort, '127.0.0.1');
    if (upstream) {
      sockets.add(upstream);
      upstream.on('error', () => undefined);
      upstream.on('data', (b) => void (holed || client.write(b)));
      upstream.on('close', () => void (holed || client.destroy()));
    }
    client.on('data', (b) => {
      requestLines.push(b.toString('latin1', 0, Math.min(b.length, 200)).split('\r\n')[0]);
      if (!holed) upstream?.write(b);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    apiBase: `http://127.0.0.1:${port}/api`,
    requestLines,
    blackhole: () => void (holed = true),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function botEnv(fake: FakeDiscord, apiBase = fake.apiBase): Record<string, string> {
  const dir = tempDir('shoebot-supervised-');
  return {
    DISCORD_TOKEN: fake.token,
    DISCORD_API_BASE: apiBase,
    DISCORD_GUILD_ID: fake.guild.id,
    DATABASE_URL: `file:${path.join(dir, 'bot.db')}`,
    MODELS_DIR: path.join(dir, 'models'),
    DATA_DIR: path.join(dir, 'data'),
    TF_BACKEND: 'wasm',
    TRAINER_MODE: 'off',
  };
}

describe('npm start under a supervisor', () => {
  it('SIGTERM to npm alone stops the bot gracefully: "signal received", exit 0, no orphan', async () => {
    const fake = await FakeDiscord.start();
    const run = npmStart(botEnv(fake));
    let botPid: number | undefined;
    try {
      botPid = await run.botPid();
      expect(botPid).not.toBe(run.npm.pid);
      await run.waitForLog('slash commands registered');
      process.kill(run.npm.pid!, 'SIGTERM');
      const { code } = await run.exited;
      expect(run.stdout()).toContain('"msg":"signal received"');
      expect(run.stdout()).toContain('"msg":"shut down"');
      expect(code, run.stderr()).toBe(0);
      // npm waited for the bot: when npm is gone, so is the bot (under Docker, PID 1 exiting kills the rest).
      expect(alive(botPid), 'the bot outlived npm (orphaned)').toBe(false);
      expect(fake.connectedSessions).toBe(0);
    } finally {
      killIfAlive(run.npm.pid);
      killIfAlive(botPid);
      await fake.close();
    }
  }, 120_000);

  it('a shutdown that cannot reach Discord (and whose log reader is gone) ends at SHUTDOWN_TIMEOUT_MS with exit 1, naming what it left', async () => {
    const fake = await FakeDiscord.start();
    const relay = await blackholeRelay(Number(new URL(fake.apiBase).port));
    const run = npmStart({ ...botEnv(fake, relay.apiBase), SHUTDOWN_TIMEOUT_MS: '2000' });
    let botPid: number | undefined;
    try {
      botPid = await run.botPid();
      await run.waitForLog('slash commands registered');
      relay.blackhole();
      // A member's /shoe arrives over the gateway; its answer goes into the black hole.
      fake.sendCommand({ name: 'shoe', user: ALICE });
      const t0 = performance.now();
      while (!relay.requestLines.some((l) => l.includes('/interactions/'))) {
        if (performance.now() - t0 > 30_000)
          throw new Error(`the bot never tried to answer:\n${relay.requestLines.join('\n')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      // The log's reader goes away too (a supervisor's pipe closed).
      run.npm.stdout!.destroy();
      const signalled = performance.now();
      process.kill(run.npm.pid!, 'SIGTERM');
      const { code, at } = await run.exited;
      const tookMs = at - signalled;
      expect(code).toBe(1);
      expect(run.stderr()).toContain(
        'shutdown did not finish within 2000 ms (SHUTDOWN_TIMEOUT_MS); not finished: answer interactions in flight',
      );
      // 2 s deadline plus generous slack for a loaded 2-core machine; without a deadline it takes 20 s or more.
      expect(tookMs).toBeGreaterThanOrEqual(1900);
      expect(tookMs).toBeLessThan(12_000);
      expect(alive(botPid)).toBe(false);
    } finally {
      killIfAlive(run.npm.pid);
      killIfAlive(botPid);
      await relay.close();
      await fake.close();
    }
  }, 120_000);
});
