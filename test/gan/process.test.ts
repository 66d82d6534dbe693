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
const ENTRY = path.join(ROOT, 'src/bin/trainer-child.ts');
const TINY_FLAGS = ['--nz', '8', '--ngf', '4', '--ndf', '4', '--batch-size', '4', '--no-eval', '--log-every', '2'];
const run = promisify(execFile);

let work: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  work = tmpModelsDir();
  const d = syntheticDataset(24);
  await writeDataset(path.join(work, 'data', 'datasets', 'tiny'), { ...d.meta, train: d.train, heldout: d.heldout });
  env = {
    ...process.env,
    MODELS_DIR: path.join(work, 'models'),
    DATA_DIR: path.join(work, 'data'),
    TF_BACKEND: 'wasm',
    LOG_LEVEL: 'warn',
  };
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function startTrainer(args: string[], onMessage?: (m: TrainerToBot, send: (m: unknown) => void) => void) {
  const messages: TrainerToBot[] = [];
  const child = fork(ENTRY, args, {
    execArgv: ['--import', 'tsx'],
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'advanced',
    cwd: ROOT,
  });
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
    const { setActiveCheckpoint } = await import('../../src/gan/catalogue.ts');
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
    // A fresh seed per run (not the checkpoint's RNG state), reported to the bot.
    expect(started.config.runSeed).toEqual(expect.any(Number));
    expect(started.config.resumedFrom).toEqual(expect.any(String));
    const done = r.messages.at(-1) as Extract<TrainerToBot, { type: 'done' }>;
    expect(done.type).toBe('done');
    expect(done.stopped).toBe(true);
    expect(done.steps).toBeLessThan(100);
    const ck = r.messages.find((m) => m.type === 'checkpoint') as Extract<TrainerToBot, { type: 'checkpoint' }>;
    expect(ck.step).toBe(4 + done.steps);
  });

  it('falls back to the newest valid checkpoint when the active one is corrupted', async () => {
    const { readManifest } = await import('../../src/gan/manifest.ts');
    const { listCheckpoints } = await import('../../src/gan/catalogue.ts');
    const active = (await readManifest(env.MODELS_DIR!)).active!;
    const fallback = (await listCheckpoints(env.MODELS_DIR!))
      .map((c) => c.version)
      .filter((v) => v !== active)
      .at(-1)!;
    const file = path.join(env.MODELS_DIR!, 'checkpoints', active, 'generator', 'weights.bin');
    const good = fs.readFileSync(file);
    const bad = Buffer.from(good);
    bad[12] ^= 0xff;
    fs.writeFileSync(file, bad);
    try {
      const r = await startTrainer(['--steps', '2', '--dataset', 'tiny', ...TINY_FLAGS]);
      expect(r.code, r.stderr).toBe(0);
      const started = r.messages[0] as Extract<TrainerToBot, { type: 'started' }>;
      expect(started.config).toMatchObject({ resumedFrom: fallback, skippedCorrupt: active });
      expect(r.stderr).toMatch(new RegExp(`${active} is corrupted.*newest valid checkpoint ${fallback}`));
      expect(r.messages.at(-1)).toMatchObject({ type: 'done', steps: 2 });
    } finally {
      fs.writeFileSync(file, good);
    }
  });

  it('reports an error message and a non-zero exit for a bad dataset', async () => {
    const r = await startTrainer(['--steps', '2', '--dataset', 'missing-set', ...TINY_FLAGS]);
    expect(r.code).toBe(1);
    const err = r.messages.find((m) => m.type === 'error') as Extract<TrainerToBot, { type: 'error' }>;
    expect(err.message).toMatch(/dataset "missing-set" not found/);
  });
});

describe('npm run train', () => {
  it('keeps a much worse result as a candidate, says how to activate it, and --force-activate overrides', async () => {
    const cli = path.join(ROOT, 'src/bin/train.ts');
    const models = path.join(work, 'models-cli');
    const e = { ...env, MODELS_DIR: models };
    const train = (...a: string[]) =>
      run(
        process.execPath,
        [
          '--import',
          'tsx',
          cli,
          '--steps',
          '2',
          '--dataset',
          'tiny',
          ...TINY_FLAGS.filter((f) => f !== '--no-eval'),
          ...a,
        ],
        { env: e, cwd: ROOT },
      );
    const ck = {
      ...(await import('../../src/gan/manifest.ts')),
      ...(await import('../../src/gan/checkpoint-meta.ts')),
    };
    await train();
    const first = (await ck.readManifest(models)).active!;
    expect(first).toBeTruthy();
    // Pretend the active checkpoint is excellent: a 2-step model is far worse.
    await ck.updateCheckpointMetrics(models, first, { kid: 1e-4, fid: 1e-3 });
    const r = await train();
    expect(r.stderr).toContain(`starting from scratch; use --resume to continue ${first}`);
    expect(r.stderr).toMatch(
      new RegExp(
        `kept (\\S+) as a candidate, NOT active: KID .* vs active 0\\.000100 .*\\n.*npm run train -- --activate \\1`,
      ),
    );
    expect((await ck.readManifest(models)).active).toBe(first);
    const forced = await train('--resume', '--force-activate');
    expect(forced.stderr).not.toMatch(/NOT active/);
    expect((await ck.readManifest(models)).active).not.toBe(first);
    const list = await run(process.execPath, ['--import', 'tsx', cli, '--list'], { env: e, cwd: ROOT });
    expect(list.stdout).toMatch(/ n=1000 /);
  });
});

describe('npm run generate', () => {
  it('writes the same PNG bytes for the same seed and checkpoint, different ones for another seed', async () => {
    const cli = path.join(ROOT, 'src/bin/generate.ts');
    const out = (n: string) => path.join(work, n);
    // The shipped default model (read only): the 2-step models trained above are nearly constant,
    // so two seeds could round to the same PNG bytes.
    const shipped = path.join(ROOT, 'models');
    const gen = (seed: string, file: string) =>
      run(
        process.execPath,
        [
          '--import',
          'tsx',
          cli,
          '--count',
          '4',
          '--seed',
          seed,
          '--out',
          file,
          '--tile',
          '32',
          '--models-dir',
          shipped,
        ],
        { env, cwd: ROOT },
      );
    const r = await gen('42', out('a.png'));
    expect(r.stdout).toMatch(/4 design\(s\), seed 42, checkpoint /);
    await gen('42', out('b.png'));
    await gen('43', out('c.png'));
    const a = fs.readFileSync(out('a.png'));
    expect(a.subarray(1, 4).toString()).toBe('PNG');
    expect(fs.readFileSync(out('b.png')).equals(a)).toBe(true);
    expect(fs.readFileSync(out('c.png')).equals(a)).toBe(false);
    await expect(
      run(process.execPath, ['--import', 'tsx', cli, '--count', '0'], { env, cwd: ROOT }),
    ).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--count must be between 1 and 64/),
    });
    await expect(
      run(process.execPath, ['--import', 'tsx', cli, '--seed', '-3'], { env, cwd: ROOT }),
    ).rejects.toMatchObject({
      code: 2,
      stderr: 'generate: seed must be an integer from 0 to 2147483647, got "-3"\n',
    });
  });
});
