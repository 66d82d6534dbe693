/** Shared set-up for the data-layer tests: throw-away folders on the real file system. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];
afterAll(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder, removed after the test file. */
export function tempDir(prefix = 'shoebot-db-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A `file:` URL for a new database file inside a fresh temporary folder. */
export function tempDbUrl(name = 'test.db'): string {
  return `file:${path.join(tempDir(), 'data', name)}`;
}
