// Prisma CLI configuration. The bot itself migrates through src/db/migrate.ts
// (schema engine compiled to WebAssembly); this file lets an operator with
// internet use the ordinary Prisma CLI on the same schema and migrations.
import fs from 'node:fs';
import { defineConfig } from 'prisma/config';
import { parseDotEnv } from './src/config/env.ts';

// Prisma 7 no longer reads .env itself; read DATABASE_URL the way the bot does (process.env wins).
const dotenv = fs.existsSync('.env') ? parseDotEnv(fs.readFileSync('.env', 'utf8')) : {};

const url = process.env.DATABASE_URL || dotenv.DATABASE_URL || 'file:./data/shoebot.db';
// One Prisma schema serves one provider: PostgreSQL has its own (derived) schema and history.
const postgres = /^postgres(ql)?:\/\//i.test(url);

export default defineConfig({
  schema: postgres ? 'prisma/postgresql/schema.prisma' : 'prisma/schema.prisma',
  migrations: { path: postgres ? 'prisma/postgresql/migrations' : 'prisma/migrations' },
  datasource: { url },
});
