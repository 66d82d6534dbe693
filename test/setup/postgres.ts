/**
 * vitest globalSetup: one throw-away PostgreSQL cluster for the whole run (initdb into a temporary
 * folder, 127.0.0.1, a free port, fsync off; as the `postgres` user when running as root), stopped
 * and removed afterwards. Test files get their own fresh database from it with freshPgDatabase()
 * (test/setup/pg-url.ts). SHOEBOT_TEST_PG_URL=postgresql://... uses an existing server instead
 * (its role needs CREATEDB). Without either, PostgreSQL tests fail with a message naming the apt
 * package: they are not skipped.
 */
import type { TestProject } from 'vitest/node';
import { startPgCluster, type PgCluster } from '../../src/db/pg-cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of the test server (a role that may CREATE DATABASE), or '' when there is none. */
    pgAdminUrl: string;
    /** Why there is no server ('' when there is one). */
    pgUnavailable: string;
  }
}

let cluster: PgCluster | undefined;

export async function setup(project: TestProject): Promise<void> {
  const given = process.env.SHOEBOT_TEST_PG_URL;
  if (given) {
    project.provide('pgAdminUrl', given);
    project.provide('pgUnavailable', '');
    return;
  }
  try {
    // A server time zone far from UTC: timestamps must not depend on it (Prisma reads and writes UTC).
    cluster = await startPgCluster({ settings: { timezone: 'Pacific/Kiritimati' } });
    // Safety net when the run is interrupted before teardown: stop() is synchronous and idempotent.
    process.once('exit', teardown);
    project.provide('pgAdminUrl', cluster.url);
    project.provide('pgUnavailable', '');
  } catch (e) {
    project.provide('pgAdminUrl', '');
    project.provide('pgUnavailable', (e as Error).message);
  }
}

export function teardown(): void {
  cluster?.stop();
  cluster = undefined;
}
