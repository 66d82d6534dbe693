/**
 * Throw-away folders for tests, removed after the test file that made them (its own afterAll
 * hooks, e.g. stopping a bot that writes there, run first: vitest runs after-hooks in reverse).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder under the OS temp dir, removed after the current test file. */
export function tempDir(prefix = 'shoebot-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}
