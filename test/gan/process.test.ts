/**
 * The trainer child process as the bot runs it (fork + IPC), and the two CLIs
 * as an operator runs them.
 */
import { execFile, fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDataset } from '../../src/data/dataset.ts';
import type { TrainerToBot } from '../../src/gan/protocol.ts';
import { syntheticDataset, tmpModelsDir } from './helpers.ts';

const ROOT = path.resolve(__dirname, '../..');
const ENTRY = path.join(ROOT, 'src/gan/trainer-process.ts');
const TINY_FLAGS = ['--nz', '8', '--ngf', '4', '--ndf', '4', '--batch-size', '4', '--no-eval', '--log-every', '2'];
const run = promisify(execFile);

let work: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  work = tmpModelsDir();
  const d = syntheticDataset(24);
  await writeDataset(path.join(work, 'data', 'datasets', 'tiny'), { ...d.meta, train: d.train, heldout: d.heldout });
  env = { ...process.env, MODELS_DIR: path.join(work, 'models'), DATA_DIR: path.join(work, 'data'), TF_BACKEND: 'wasm', LOG_LEVEL: 'warn' };
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function startTrainer(args: string[], onMessage?: (m: TrainerToBot, send: (m: unknown) => void) => void) {
  const messages: TrainerToBot[] = [];
  const child = fork(ENTRY, args, { execArgv: ['--import', 'tsx'], env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced', cwd: ROOT });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  child.on('message', (m) => {
    messages.push(m as TrainerToBot);
    onMessage?.(m as TrainerToBot, (x) => child.send(x as never));
  });
  const exited = new Promise<{ code: number | null; stderr: string; messages: TrainerToBot[] }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stderr, messages })),
  );
  return exited;
}

describe('trainer process (forked by the bot)', () => {
  it('trains, reports started/progress/checkpoint/done and does not activate the result', async () => {
    const r = await startTrainer(['--steps', '4', '--dataset', 'tiny', ...TINY_FLAGS]);
    expect(r.code, r.stderr).toBe(0);
    const types = r.messages.map((m) => m.type);
    expect(types[0]).toBe('started');
    expect(types.filter((t) => t === 'progress')).toHaveLength(2);
    expect(types.slice(-2)).toEqual(['checkpoint', 'done']);
    const ck = r.messages.find((m) => m.type === 'checkpoint') as Extract<TrainerToBot, { type: 'checkpoint' }>;
    expect(ck.step).toBe(4);
    expect(fs.existsSync(path.join(ck.dir, 'checkpoint.json'))).toBe(true);
    const done = r.messages.at(-1) as Extract<TrainerToBot, { type: 'done' }>;
    expect(done).toMatchObject({ stopped: false, steps: 4 });
    // The bot owns activation (quality gate + hot-swap).
    expect(fs.existsSync(path.join(env.MODELS_DIR!, 'manifest.json'))).toBe(false);
    // Make it active for the next test, as the bot would.
    const { setActiveCheckpoint } = await import('../../src/gan/checkpoint.ts');
    await setActiveCheckpoint(env.MODELS_DIR!, ck.version, { verify: false });
  });

  it('continues from the active checkpoint and stops cleanly on {type:"stop"}', async () => {
    let sent = false;
    const r = await startTrainer(['--steps', '100000', '--dataset', 'tiny', ...TINY_FLAGS], (m, send) => {
      if (m.type === 'progress' && !sent) {
        sent = true;
        send({ type: 'stop' });
      }
    });
    expect(r.code, r.stderr).toBe(0);
    const started = r.messages[0] as Extract<TrainerToBot, { type: 'started' }>;
    expect(started.runStartStep).toBe(4);
    const done = r.messages.at(-1) as Extract<TrainerToBot, { type: 'done' }>;
    expect(done.type).toBe('done');
    expect(done.stopped).toBe(true);
    expect(done.steps).toBeLessThan(100);
    const ck = r.messages.find((m) => m.type === 'checkpoint') as Extract<TrainerToBot, { type: 'checkpoint' }>;
    expect(ck.step).toBe(4 + done.steps);
  });

  it('reports an error message and a non-zero exit for a bad dataset', async () => {
    const r = await startTrainer(['--steps', '2', '--dataset', 'missing-set', ...TINY_FLAGS]);
    expect(r.code).toBe(1);
    const err = r.messages.find((m) => m.type === 'error') as Extract<TrainerToBot, { type: 'error' }>;
    expect(err.message).toMatch(/dataset "missing-set" not found/);
  });
});

describe('npm run generate', () => {
  it('writes the same PNG bytes for the same seed and checkpoint, different ones for another seed', async () => {
    const cli = path.join(ROOT, 'src/cli/generate.ts');
    const out = (n: string) => path.join(work, n);
    const gen = (seed: string, file: string) =>
      run(process.execPath, ['--import', 'tsx', cli, '--count', '4', '--seed', seed, '--out', file, '--tile', '32'], { env, cwd: ROOT });
    const r = await gen('42', out('a.png'));
    expect(r.stdout).toMatch(/4 design\(s\), seed 42, checkpoint /);
    await gen('42', out('b.png'));
    await gen('43', out('c.png'));
    const a = fs.readFileSync(out('a.png'));
    expect(a.subarray(1, 4).toString()).toBe('PNG');
    expect(fs.readFileSync(out('b.png')).equals(a)).toBe(true);
    expect(fs.readFileSync(out('c.png')).equals(a)).toBe(false);
    await expect(run(process.execPath, ['--import', 'tsx', cli, '--count', '0'], { env, cwd: ROOT })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--count must be between 1 and 64/),
    });
  });
});
