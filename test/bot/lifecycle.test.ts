/**
 * The bot as an operator runs it: `npm start` without a token, the
 * deploy-commands CLI, the process under SIGTERM; and the router's handling
 * of internal failures (a human message, no stack trace, no crash) and of
 * requests in flight during shutdown.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../fake-discord/server.ts';
import { ALICE, expectNoUnhandled, startHarness, tempDir } from './harness.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function run(
  file: string,
  env: Record<string, string>,
  opts: {
    onStdout?: (chunk: string, kill: (sig: NodeJS.Signals) => void) => void;
    timeoutMs?: number;
    args?: string[];
  } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...(opts.args ?? [])], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not exit in time:\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (b) => {
      stdout += b;
      opts.onStdout?.(stdout, (sig) => child.kill(sig));
    });
    child.stderr.on('data', (b) => (stderr += b));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

afterEach(() => expectNoUnhandled());

describe('operating the bot', () => {
  it('npm start without a token exits 1 with a one-line explanation', async () => {
    const r = await run('src/bin/bot.ts', { DISCORD_TOKEN: '' });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^DISCORD_TOKEN is not set: .*discord\.com\/developers.*\.env/);
  });

  it('npm run deploy-commands registers the commands in the guild', async () => {
    const fake = await FakeDiscord.start();
    try {
      const r = await run('src/bin/deploy-commands.ts', {
        DISCORD_TOKEN: fake.token,
        DISCORD_API_BASE: fake.apiBase,
        DISCORD_GUILD_ID: fake.guild.id,
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Registered 4 command\(s\) \(\/blend, \/gallery, \/shoe, \/train\) in guild/);
      expect((fake.commands.guild.get(fake.guild.id) ?? []).map((c) => c.name).sort()).toEqual([
        'blend',
        'gallery',
        'shoe',
        'train',
      ]);
      const global = await run('src/bin/deploy-commands.ts', {
        DISCORD_TOKEN: fake.token,
        DISCORD_API_BASE: fake.apiBase,
        DISCORD_GUILD_ID: '',
      });
      expect(global.code).toBe(0);
      expect(global.stdout).toContain('globally');
      expect(fake.commands.global.map((c) => c.name).sort()).toEqual(['blend', 'gallery', 'shoe', 'train']);
      const bad = await run('src/bin/deploy-commands.ts', {
        DISCORD_TOKEN: 'wrong-token-1234567890',
        DISCORD_API_BASE: fake.apiBase,
      });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^Could not register commands: /);
      expect(bad.stderr).not.toContain('wrong-token-1234567890');
      // --help prints usage even without a token (and registers nothing).
      const help = await run('src/bin/deploy-commands.ts', { DISCORD_TOKEN: '' }, { args: ['--help'] });
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Usage: npm run deploy-commands');
      expect(help.stderr).toBe('');
    } finally {
      await fake.close();
    }
  });

  it('npm start serves, then shuts down cleanly on SIGTERM without logging the token', async () => {
    const fake = await FakeDiscord.start();
    const dir = tempDir();
    try {
      let asked = false;
      const r = await run(
        'src/bin/bot.ts',
        {
          DISCORD_TOKEN: fake.token,
          DISCORD_API_BASE: fake.apiBase,
          DISCORD_GUILD_ID: fake.guild.id,
          DATABASE_URL: `file:${path.join(dir, 'bot.db')}`,
          MODELS_DIR: path.join(dir, 'models'),
          DATA_DIR: path.join(dir, 'data'),
          TF_BACKEND: 'wasm',
        },
        {
          onStdout: (out, kill) => {
            if (!asked && out.includes('slash commands registered')) {
              asked = true;
              // A member runs /shoe; once answered, the operator stops the bot.
              const it = fake.sendCommand({ name: 'shoe', user: ALICE });
              fake.waitForReply(it).then(() => kill('SIGTERM'));
            }
          },
        },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('"msg":"connected to Discord"');
      expect(r.stdout).toContain('"msg":"training scheduled"');
      expect(r.stdout).toContain('"msg":"shut down"');
      expect(r.stdout + r.stderr).not.toContain(fake.token);
      const answer = [...fake.replies.values()][0][0];
      expect(answer.ephemeral).toBe(true);
      expect(answer.message.content).toContain('No sneaker generator is loaded yet');
      expect(fake.connectedSessions).toBe(0);
    } finally {
      await fake.close();
    }
  });
});

describe('interaction router', () => {
  it('answers internal failures with a short apology (no stack, no path), logs them, and keeps serving', async () => {
    const h = await startHarness({ bot: { commandsDir: path.join(ROOT, 'test', 'bot', 'fixture-commands') } });
    try {
      for (const deferred of [false, true]) {
        const r = await h.fake.waitForReply(h.fake.sendCommand({ name: 'boom', options: { deferred }, user: ALICE }));
        expect(r.ephemeral).toBe(true);
        expect(r.message.content).toBe(
          'Something went wrong on my side. It has been logged; please try again in a moment.',
        );
      }
      // The deferred (public) placeholder was removed rather than left "thinking".
      expect(h.fake.requests.some((q) => q.method === 'DELETE' && q.route.endsWith('/messages/@original'))).toBe(true);
      expect(h.logLines.some((l) => l.includes('interaction failed') && l.includes('/srv/secret/path'))).toBe(true);
      const unknown = await h.fake.waitForReply(h.fake.sendCommand({ name: 'gallery', user: ALICE }));
      expect(unknown.ephemeral).toBe(true);
      expect(unknown.message.content).toContain("I don't know /gallery");
      const ok = await h.fake.waitForReply(h.fake.sendCommand({ name: 'shoe', options: { count: 1 }, user: ALICE }));
      expect(ok.ephemeral).toBe(false);
      expect(ok.message.attachments).toHaveLength(1);
    } finally {
      await h.close();
    }
  });

  it('finishes requests in flight on shutdown, then closes the gateway', async () => {
    const h = await startHarness();
    const its = [1, 2, 3].map((seed) => h.fake.sendCommand({ name: 'shoe', options: { count: 4, seed }, user: ALICE }));
    // Stop as soon as the first request has been deferred: all three are in flight or queued.
    await h.fake.waitForRequest((r) => r.route.startsWith(`/interactions/${its[0].id}/`));
    await h.bot.stop();
    const replies = await Promise.all(
      its.map((i) => h.fake.waitForReply(i, { timeoutMs: 1000 }).catch(() => undefined)),
    );
    const answered = replies.filter(Boolean);
    // Whatever reached the bot before the stop was answered completely (image included).
    expect(answered.length).toBeGreaterThanOrEqual(1);
    for (const r of answered) {
      if (!r!.ephemeral) expect(r!.message.attachments).toHaveLength(1);
      else expect(r!.message.content).toContain('restarting');
    }
    expect(h.fake.connectedSessions).toBe(0);
    await h.close();
  });
});
