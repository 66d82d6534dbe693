/** The throw-away cluster helper, and how the bot reports a PostgreSQL it cannot use. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/db/paths.ts';
import { freePort, PgBinariesMissingError, startPgCluster } from '../../src/db/pg-cluster.ts';
import { tempDir } from './helpers.ts';

describe('throw-away PostgreSQL cluster', () => {
  it('fails with a message naming the apt package when the server binaries are missing', async () => {
    const prev = process.env.PG_BIN_DIR;
    process.env.PG_BIN_DIR = tempDir('shoebot-nopg-'); // no initdb in there
    try {
      const err = await startPgCluster().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PgBinariesMissingError);
      expect((err as Error).message).toContain('apt-get install postgresql');
      expect((err as Error).message).toContain('SHOEBOT_TEST_PG_URL');
    } finally {
      if (prev === undefined) delete process.env.PG_BIN_DIR;
      else process.env.PG_BIN_DIR = prev;
    }
  });

  it('starts on 127.0.0.1 with password auth, stops, and leaves nothing behind', async () => {
    const cluster = await startPgCluster();
    try {
      expect(new URL(cluster.url).hostname).toBe('127.0.0.1');
      expect(fs.existsSync(`${cluster.dir}/data/PG_VERSION`)).toBe(true);
      const pg = (await import('pg')).default;
      const bad = new pg.Client({ connectionString: cluster.url.replace(/:[^:@/]+@/, ':nope@') });
      await expect(bad.connect()).rejects.toMatchObject({ code: '28P01' });
      const good = new pg.Client({ connectionString: cluster.url });
      await good.connect();
      const [{ fsync }] = (await good.query('SHOW fsync')).rows as { fsync: string }[];
      expect(fsync).toBe('off');
      await good.end();
    } finally {
      cluster.stop();
    }
    expect(fs.existsSync(cluster.dir)).toBe(false);
    cluster.stop(); // twice is fine
  });
});

describe('bot start-up on a PostgreSQL it cannot reach', () => {
  it('prints one plain line naming the server, never the password, and exits 1', async () => {
    const port = await freePort();
    const secret = 'NeverPrintThis-9f3k';
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/bin/bot.ts'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      timeout: 90_000,
      env: {
        ...process.env,
        DISCORD_TOKEN: 'x'.repeat(24) + '.' + 'y'.repeat(6) + '.' + 'z'.repeat(27),
        DATABASE_URL: `postgresql://shoebot:${secret}@127.0.0.1:${port}/shoebot`,
        MODELS_DIR: `${PROJECT_ROOT}/models`,
        TF_BACKEND: 'cpu',
        LOG_LEVEL: 'info',
      },
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `shoebot could not start: Cannot reach PostgreSQL at 127.0.0.1:${port} (ECONNREFUSED): is the server running and listening there? ` +
        '(Debian: `systemctl status postgresql`; check listen_addresses/port in postgresql.conf)',
    );
    expect(r.stdout + r.stderr).not.toContain(secret);
  });
});
