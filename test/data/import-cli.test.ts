import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FIX = path.join(ROOT, 'test/fixtures/fashion-mnist-mini');
const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/bin/data-import.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'silent' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run data:import', () => {
  it('imports Fashion-MNIST sneakers into <data-dir>/datasets/<name> and prints a summary', async () => {
    const dataDir = tempDir('import-cli-');
    const r = await cli(['--source', 'fashion-mnist', '--fmnist-dir', FIX, '--data-dir', dataDir, '--out', 'mini']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/dataset mini: 64 train, 32 held-out, 32x32x1/);
    // Not a TTY here: plain progress lines on stderr, no carriage returns.
    expect(r.stderr).toMatch(/fashion-mnist: 64 train \+ 32 held-out/);
    expect(r.stderr).not.toContain('\r');
    const meta = JSON.parse(fs.readFileSync(path.join(dataDir, 'datasets/mini/meta.json'), 'utf8'));
    expect(meta.trainCount).toBe(64);
  });

  it('explains usage errors', async () => {
    // In parallel: each spawn pays tsx's start-up.
    const [help, none, noDir, badFlag] = await Promise.all([
      cli(['--help']),
      cli([]),
      cli(['--source', 'folder']),
      cli(['--sauce', 'x']),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--source fashion-mnist/);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/missing --source/);
    expect(noDir.code).toBe(1);
    expect(noDir.stderr).toMatch(/needs --dir/);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/Unknown option '--sauce'/);
  });
});
