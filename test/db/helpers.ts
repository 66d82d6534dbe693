/** Shared set-up for the data-layer tests: throw-away folders on the real file system. */
import path from 'node:path';
import { tempDir as tempFolder } from '../helpers/temp.ts';

/** A fresh temporary folder, removed after the test file. */
export function tempDir(prefix = 'shoebot-db-'): string {
  return tempFolder(prefix);
}

/** A `file:` URL for a new database file inside a fresh temporary folder. */
export function tempDbUrl(name = 'test.db'): string {
  return `file:${path.join(tempDir(), 'data', name)}`;
}
