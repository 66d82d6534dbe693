/**
 * MODELS_DIR faults around a training run: a MODELS_DIR that cannot be written is named before any
 * step (not after hours, as `ENOENT ... mkdir`), temporary checkpoint folders a killed writer left
 * are swept at start (never a live writer's), and a run stopped before its first step publishes
 * nothing.
 *
 * These tests may run as root, where chmod does not stop writes: the unwritable MODELS_DIR here is
 * one whose parent is a regular file (ENOTDIR), which stops root too. A read-only mount or missing
 * permissions take the same path (EROFS/EACCES), checked only when not root.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTf } from '../../src/tf/index.ts';
import { runTraining } from '../../src/gan/training-loop.ts';
import { listCheckpoints } from '../../src/gan/catalogue.ts';
import { readManifest } from '../../src/gan/manifest.ts';
import { modelsDirProblem, removeStaleTempFolders, STALE_TMP_MS } from '../../src/gan/models-dir.ts';
import { tempDir } from '../helpers/temp.ts';
import { syntheticDataset, tempModelsDirs, TINY, TINY_TRAIN } from './helpers.ts';

const newDir = tempModelsDirs();
const data = syntheticDataset(24);

beforeAll(async () => {
  await initTf('wasm');
});

/** A MODELS_DIR nobody can create: its parent is a file. */
function underAFile(): string {
  const file = path.join(tempDir('shoebot-modelsdir-'), 'not-a-folder');
  fs.writeFileSync(file, 'x');
  return path.join(file, 'models');
}

/** The pid of a process that has exited (for a temporary folder whose writer is gone). */
function deadPid(): number {
  return Number(
    spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout,
  );
}

function makeTmp(modelsDir: string, name: string, ageMs: number): string {
  const dir = path.join(modelsDir, name);
  fs.mkdirSync(path.join(dir, 'generator'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'generator', 'weights.bin'), 'partial');
  const t = new Date(Date.now() - ageMs);
  for (const p of [path.join(dir, 'generator', 'weights.bin'), path.join(dir, 'generator'), dir])
    fs.utimesSync(p, t, t);
  return dir;
}

describe('MODELS_DIR writability', () => {
  it('names the real cause, and is quiet for a writable folder', () => {
    expect(modelsDirProblem(newDir())).toBeUndefined();
    const bad = underAFile();
    expect(modelsDirProblem(bad)).toMatch(
      new RegExp(
        `^MODELS_DIR ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not writable \\(ENOTDIR: a part of that path is a file, not a folder\\)`,
      ),
    );
  });

  it.skipIf(process.getuid?.() === 0)('names missing permissions (not as root: root writes anyway)', () => {
    const dir = newDir();
    fs.mkdirSync(path.join(dir, 'checkpoints'), { recursive: true });
    fs.chmodSync(dir, 0o555);
    try {
      expect(modelsDirProblem(dir)).toMatch(
        /is not writable \((EACCES|EPERM): this process \(uid \d+\) may not write there\)/,
      );
    } finally {
      fs.chmodSync(dir, 0o755);
    }
  });

  it('a run fails before its first step, with that message', async () => {
    let started = false;
    const t0 = performance.now();
    const bad = underAFile();
    await expect(
      runTraining({
        modelsDir: bad,
        dataset: data,
        steps: 50,
        config: TINY,
        trainOptions: TINY_TRAIN,
        seed: 1,
        onStarted: () => (started = true),
      }),
    ).rejects.toThrow(/is not writable \(ENOTDIR/);
    expect(started).toBe(false);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});

describe('stale temporary checkpoint folders', () => {
  it('sweeps old ones of dead writers, keeps fresh ones and live writers\u2019 ones', () => {
    const dir = newDir();
    const dead = deadPid();
    const stale = makeTmp(dir, `.tmp-20261201-010101-s000010-${dead}`, STALE_TMP_MS + 60_000);
    const fresh = makeTmp(dir, `.tmp-20261201-010102-s000011-${dead}`, 1000);
    const live = makeTmp(dir, `.tmp-20261201-010103-s000012-${process.ppid}`, STALE_TMP_MS + 60_000);
    const other = makeTmp(dir, 'checkpoints', STALE_TMP_MS + 60_000);
    expect(removeStaleTempFolders(dir)).toEqual([path.basename(stale)]);
    expect(fs.existsSync(stale)).toBe(false);
    for (const kept of [fresh, live, other]) expect(fs.existsSync(kept)).toBe(true);
  });

  it('a training run sweeps them at start', async () => {
    const dir = newDir();
    const stale = makeTmp(dir, `.tmp-20261201-010101-s000010-${deadPid()}`, STALE_TMP_MS + 60_000);
    await runTraining({ modelsDir: dir, dataset: data, steps: 1, config: TINY, trainOptions: TINY_TRAIN, seed: 1 });
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });
});

describe('a run stopped before its first step', () => {
  it('publishes nothing: no new checkpoint, the active one stays', async () => {
    const dir = newDir();
    const first = await runTraining({
      modelsDir: dir,
      dataset: data,
      steps: 2,
      config: TINY,
      trainOptions: TINY_TRAIN,
      seed: 1,
    });
    const before = (await listCheckpoints(dir)).map((c) => c.version);
    const stopped = await runTraining({
      modelsDir: dir,
      dataset: data,
      steps: 5,
      resume: true,
      shouldStop: () => true,
    });
    expect(stopped).toMatchObject({ stopped: true, steps: 0, version: undefined });
    expect((await listCheckpoints(dir)).map((c) => c.version)).toEqual(before);
    expect((await readManifest(dir)).active).toBe(first.version);
  });

  it('from scratch: no checkpoint and no manifest at all', async () => {
    const dir = newDir();
    const stopped = await runTraining({
      modelsDir: dir,
      dataset: data,
      steps: 5,
      config: TINY,
      trainOptions: TINY_TRAIN,
      seed: 1,
      shouldStop: () => true,
    });
    expect(stopped.version).toBeUndefined();
    expect(await listCheckpoints(dir)).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'manifest.json'))).toBe(false);
  });
});
