/**
 * A fresh PostgreSQL database per call, on the test server that test/setup/postgres.ts started (or
 * SHOEBOT_TEST_PG_URL). Databases made by a test file are dropped after that file.
 *
 *   import { freshPgDatabase } from '../setup/pg-url.ts';
 *   const url = await freshPgDatabase();   // postgresql://...@127.0.0.1:PORT/shoebot_test_xxxx
 *   const db = await openDatabase(url);    // migrated, ready
 *
 * Throws (the test fails, it is not skipped) when no PostgreSQL server is available.
 */
import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, inject } from 'vitest';

const made: string[] = [];

/** Admin URL of the test server; throws the reason when there is none. */
export function pgAdminUrl(): string {
  const url = inject('pgAdminUrl');
  if (!url)
    throw new Error(
      `No PostgreSQL server for the tests: ${inject('pgUnavailable') || 'test/setup/postgres.ts did not run'}`,
    );
  return url;
}

/** The URL of database `name` on the test server (same role and password). */
export function pgUrlFor(name: string): string {
  const u = new URL(pgAdminUrl());
  u.pathname = `/${name}`;
  return u.toString();
}

/** Creates an empty database on the test server and returns its URL (nothing migrated yet). */
export async function freshPgDatabase(prefix = 'shoebot_test'): Promise<string> {
  const name = `${prefix}_${crypto.randomBytes(5).toString('hex')}`;
  const client = new pg.Client({ connectionString: pgAdminUrl() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  made.push(name);
  return pgUrlFor(name);
}

afterAll(async () => {
  if (made.length === 0) return;
  const client = new pg.Client({ connectionString: pgAdminUrl() });
  await client.connect();
  try {
    for (const name of made.splice(0)) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
});
