/** The PostgreSQL twin schema is derived from prisma/schema.prisma and must not drift from it. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PG_SCHEMA_PATH, PROJECT_ROOT, SCHEMA_PATH } from '../../src/db/paths.ts';
import { derivePgSchema } from '../../scripts/pg-schema.mjs';
import { tempDir } from '../helpers/temp.ts';

describe('prisma/postgresql/schema.prisma', () => {
  it('is exactly what scripts/pg-schema.mjs derives from prisma/schema.prisma', () => {
    // Fails when someone edits one schema without the other: change prisma/schema.prisma and run
    // `npm run db:migrate -- --name <change>` (or `node scripts/pg-schema.mjs`).
    expect(fs.readFileSync(PG_SCHEMA_PATH, 'utf8')).toBe(derivePgSchema(fs.readFileSync(SCHEMA_PATH, 'utf8')));
    const check = spawnSync(process.execPath, ['scripts/pg-schema.mjs', '--check'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    expect(check.status).toBe(0);
  });

  it('differs from the SQLite schema only in provider, client output and its header', () => {
    const sqlite = fs.readFileSync(SCHEMA_PATH, 'utf8');
    const twin = derivePgSchema(sqlite);
    expect(twin).toMatch(/provider = "postgresql"/);
    expect(twin).toMatch(/output\s+= "\.\.\/\.\.\/src\/db\/generated-pg"/);
    const strip = (s: string) =>
      s
        .replace(/^\/\/.*\n/gm, '')
        .replace(/"sqlite"|"postgresql"/, 'P')
        .replace(/"\.\.\/src\/db\/generated"|"\.\.\/\.\.\/src\/db\/generated-pg"/, 'O')
        .trim();
    expect(strip(twin)).toBe(strip(sqlite));
  });

  it('refuses to derive from a schema it does not recognise, rather than writing a wrong twin', () => {
    expect(() => derivePgSchema('datasource db {\n  provider = "mysql"\n}\n')).toThrow(
      /cannot find datasource provider "sqlite"/,
    );
  });

  it('--check fails on a stale twin (a copy of the project with an edited schema)', () => {
    const dir = tempDir('shoebot-pgschema-');
    try {
      fs.mkdirSync(path.join(dir, 'scripts'));
      fs.mkdirSync(path.join(dir, 'prisma', 'postgresql'), { recursive: true });
      fs.copyFileSync(path.join(PROJECT_ROOT, 'scripts', 'pg-schema.mjs'), path.join(dir, 'scripts', 'pg-schema.mjs'));
      fs.copyFileSync(PG_SCHEMA_PATH, path.join(dir, 'prisma', 'postgresql', 'schema.prisma'));
      const edited = fs.readFileSync(SCHEMA_PATH, 'utf8').replace(/(model Vote \{\n)/, '$1  weight Int @default(1)\n');
      fs.writeFileSync(path.join(dir, 'prisma', 'schema.prisma'), edited);
      const check = spawnSync(process.execPath, ['scripts/pg-schema.mjs', '--check'], { cwd: dir, encoding: 'utf8' });
      expect(check.status).toBe(1);
      expect(check.stderr).toMatch(/out of date/);
      const write = spawnSync(process.execPath, ['scripts/pg-schema.mjs'], { cwd: dir, encoding: 'utf8' });
      expect(write.status).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'prisma', 'postgresql', 'schema.prisma'), 'utf8')).toContain(
        'weight Int @default(1)',
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
