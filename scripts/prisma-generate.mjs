// Runs `prisma generate` without network access, for both providers: the SQLite client
// (prisma/schema.prisma -> src/db/generated) and the PostgreSQL one (prisma/postgresql/schema.prisma
// -> src/db/generated-pg). The Prisma 7 CLI refuses to start unless a native schema engine binary
// exists, even though `generate` itself only uses WebAssembly; pointing PRISMA_SCHEMA_ENGINE_BINARY
// at any existing file satisfies that check (see ../shared/README.md).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { derivePgSchema, PG_SCHEMA, SQLITE_SCHEMA } from './pg-schema.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
const cli = path.join(root, 'node_modules', 'prisma', 'build', 'index.js');

// The committed twin is what we generate from; a stale one is a developer's mistake worth a loud
// warning here (test/db/pg-schema.test.ts fails on it), not a broken `npm ci`.
if (
  !fs.existsSync(PG_SCHEMA) ||
  fs.readFileSync(PG_SCHEMA, 'utf8') !== derivePgSchema(fs.readFileSync(SQLITE_SCHEMA, 'utf8'))
) {
  process.stderr.write('warning: prisma/postgresql/schema.prisma is out of date; run `node scripts/pg-schema.mjs`\n');
}
for (const schema of ['prisma/schema.prisma', 'prisma/postgresql/schema.prisma']) {
  const result = spawnSync(process.execPath, [cli, 'generate', '--schema', schema], {
    cwd: root,
    env,
    stdio: 'inherit',
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
