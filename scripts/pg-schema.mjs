// Derives the PostgreSQL twin of the Prisma schema (prisma/postgresql/schema.prisma) from
// prisma/schema.prisma. One Prisma schema serves one provider, so PostgreSQL needs its own schema
// file and migration history; deriving it means the two data models cannot drift apart.
//   node scripts/pg-schema.mjs          write the twin (npm run db:migrate does this too)
//   node scripts/pg-schema.mjs --check  exit 1 if the committed twin differs from the derivation
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SQLITE_SCHEMA = path.join(root, 'prisma', 'schema.prisma');
export const PG_SCHEMA = path.join(root, 'prisma', 'postgresql', 'schema.prisma');

const HEADER =
  '// GENERATED from ../schema.prisma by scripts/pg-schema.mjs: do not edit. Change prisma/schema.prisma,\n' +
  '// then run `npm run db:migrate -- --name <change>` (it rewrites this file and makes both migrations).\n\n';

/** The PostgreSQL schema text for a SQLite schema text (throws if the expected lines are missing). */
export function derivePgSchema(text) {
  let out = text;
  const swap = (re, to, what) => {
    if (!re.test(out)) throw new Error(`scripts/pg-schema.mjs: cannot find ${what} in prisma/schema.prisma`);
    out = out.replace(re, to);
  };
  swap(/(datasource\s+db\s*\{[^}]*?provider\s*=\s*)"sqlite"/, '$1"postgresql"', 'datasource provider "sqlite"');
  swap(
    /(generator\s+client\s*\{[^}]*?output\s*=\s*)"\.\.\/src\/db\/generated"/,
    '$1"../../src/db/generated-pg"',
    'generator output "../src/db/generated"',
  );
  return HEADER + out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const want = derivePgSchema(fs.readFileSync(SQLITE_SCHEMA, 'utf8'));
  const have = fs.existsSync(PG_SCHEMA) ? fs.readFileSync(PG_SCHEMA, 'utf8') : null;
  if (process.argv.includes('--check')) {
    if (have !== want) {
      process.stderr.write('prisma/postgresql/schema.prisma is out of date: run `node scripts/pg-schema.mjs`\n');
      process.exit(1);
    }
  } else if (have !== want) {
    fs.mkdirSync(path.dirname(PG_SCHEMA), { recursive: true });
    fs.writeFileSync(PG_SCHEMA, want);
    process.stdout.write('Wrote prisma/postgresql/schema.prisma\n');
  }
}
