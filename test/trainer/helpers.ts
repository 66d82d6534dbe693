/** Shared fixtures for the trainer-service tests: the tiny model/dataset of test/bot/trainer.test.ts, child processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { writeDataset } from '../../src/data/dataset.ts';
import { PROJECT_ROOT } from '../../src/db/paths.ts';
import type { GanConfig } from '../../src/gan/model.ts';

/** Trainer flags of a tiny, fast run (as in test/bot/trainer.test.ts). */
export const TINY_FLAGS = [
  '--ngf',
  '8',
  '--ndf',
  '8',
  '--nz',
  '16',
  '--batch-size',
  '8',
  '--log-every',
  '2',
  '--no-eval',
  '--seed',
  '3',
];
export const TINY_CONFIG: GanConfig = { imageSize: 32, channels: 1, nz: 16, ngf: 8, ndf: 8 };

/** A 32x32 grey dataset of 64 training and 16 held-out bright bars. */
export async function makeDataset(dir: string): Promise<void> {
  const per = 32 * 32;
  const mk = (n: number) => {
    const a = new Uint8Array(n * per);
    for (let i = 0; i < n; i++)
      for (let y = 8; y < 24; y++) for (let x = 4 + (i % 4); x < 28; x++) a[i * per + y * 32 + x] = 200;
    return a;
  };
  await writeDataset(dir, {
    name: 'tiny',
    source: 'test',
    height: 32,
    width: 32,
    channels: 1,
    background: 'black',
    train: mk(64),
    heldout: mk(16),
  });
}

export interface Proc {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  out(): string;
  /** Resolves when `re` appears in the output (rejects on exit or timeout). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs a TypeScript entry with tsx, output captured. */
export function runTs(entry: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(PROJECT_ROOT, entry), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const waiters = new Set<() => void>();
  const onData = (b: Buffer) => {
    text += b.toString();
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => {
    done = true;
    for (const w of waiters) w();
  });
  return {
    child,
    out: () => text,
    exited,
    waitFor(re, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(text);
          if (m) return finish(() => resolve(m));
          if (done) return finish(() => reject(new Error(`process exited before ${re}:\n${text.slice(-4000)}`)));
        };
        const t = setTimeout(
          () => finish(() => reject(new Error(`timed out waiting for ${re}:\n${text.slice(-4000)}`))),
          timeoutMs,
        );
        const finish = (f: () => void) => {
          clearTimeout(t);
          waiters.delete(check);
          f();
        };
        waiters.add(check);
        check();
      });
    },
  };
}
