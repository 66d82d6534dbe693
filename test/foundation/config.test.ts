import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDotEnv } from '../../src/config/env.ts';
import { tempDir } from '../helpers/temp.ts';

const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB';

describe('configuration', () => {
  it('applies documented defaults', () => {
    const c = loadConfig({}, { dotenv: false });
    expect(c.DISCORD_API_BASE).toBe('https://discord.com/api');
    expect(c.DATABASE_URL).toBe('file:./data/shoebot.db');
    expect(c.MODELS_DIR).toBe('models');
    expect(c.TF_BACKEND).toBe('auto');
    expect(c.ADMIN_USER_IDS).toEqual([]);
    expect(c.DISCORD_TOKEN).toBeUndefined();
    expect(c.TRAIN_CRON).toBe('0 3 * * *');
  });

  it('parses lists and trims trailing slashes', () => {
    const c = loadConfig(
      { ADMIN_USER_IDS: '123456789012345678, 223456789012345678', DISCORD_API_BASE: 'http://127.0.0.1:4000/api/' },
      { dotenv: false },
    );
    expect(c.ADMIN_USER_IDS).toEqual(['123456789012345678', '223456789012345678']);
    expect(c.DISCORD_API_BASE).toBe('http://127.0.0.1:4000/api');
  });

  it('reports every bad value by name, one line each', () => {
    let err: unknown;
    try {
      loadConfig(
        {
          TF_BACKEND: 'cuda',
          TRAIN_CRON: 'every night',
          DISCORD_GUILD_ID: 'abc',
          DATABASE_URL: 'mysql://x',
          LOG_LEVEL: 'loud',
        },
        { dotenv: false },
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    for (const name of ['TF_BACKEND', 'TRAIN_CRON', 'DISCORD_GUILD_ID', 'DATABASE_URL', 'LOG_LEVEL'])
      expect(msg).toContain(name);
    expect((err as ConfigError).problems).toHaveLength(5);
  });

  it('explains unsupported and non-numeric values in words', () => {
    expect(loadConfig({ DATABASE_URL: 'postgresql://u:p@localhost/db' }, { dotenv: false }).DATABASE_URL).toBe(
      'postgresql://u:p@localhost/db',
    );
    expect(() => loadConfig({ DATABASE_URL: 'postgresql://u:s3cret@' }, { dotenv: false })).toThrow(
      /DATABASE_URL is not a valid PostgreSQL URL/,
    );
    expect(() => loadConfig({ DATABASE_URL: 'postgresql://u:s3cret@' }, { dotenv: false })).not.toThrow(/s3cret/);
    expect(() => loadConfig({ TRAIN_STEPS: 'abc' }, { dotenv: false })).toThrow(
      /TRAIN_STEPS must be a whole number of steps/,
    );
  });

  it('never echoes the token in an error', () => {
    // A token where a Discord id is expected must not be printed back.
    let msg = '';
    try {
      loadConfig({ DISCORD_TOKEN: TOKEN, ADMIN_USER_IDS: TOKEN, DISCORD_GUILD_ID: TOKEN }, { dotenv: false });
    } catch (e) {
      msg = String((e as Error).message) + JSON.stringify(e);
    }
    expect(msg).toContain('ADMIN_USER_IDS');
    expect(msg).not.toContain(TOKEN);
    expect(msg).not.toContain(TOKEN.slice(0, 20));
  });

  it('reads a .env file, with process env taking precedence', () => {
    const dir = tempDir('shoebot-env-');
    fs.writeFileSync(
      path.join(dir, '.env'),
      '# comment\nDISCORD_TOKEN="from-file-token"\nMODELS_DIR=/srv/models # trailing\nexport LOG_LEVEL=debug\nTF_BACKEND=\n',
    );
    const c = loadConfig({ LOG_LEVEL: 'warn' }, { cwd: dir });
    expect(c.DISCORD_TOKEN).toBe('from-file-token');
    expect(c.MODELS_DIR).toBe('/srv/models');
    expect(c.LOG_LEVEL).toBe('warn');
    expect(c.TF_BACKEND).toBe('auto');
  });

  it('parses dotenv quoting', () => {
    expect(parseDotEnv("A='x y'\nB=z\n  \nnot a line\n")).toEqual({ A: 'x y', B: 'z' });
    // A quoted value followed by a comment keeps neither the quotes nor the comment.
    expect(parseDotEnv('T="tok en"  # my token\nU="a#b"\nV=plain # note')).toEqual({
      T: 'tok en',
      U: 'a#b',
      V: 'plain',
    });
  });
});
