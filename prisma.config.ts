// Prisma CLI configuration. The bot itself migrates through src/db/migrate.ts
// (schema engine compiled to WebAssembly); this file lets an operator with
// internet use the ordinary Prisma CLI on the same schema and migrations.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'file:./data/shoebot.db' },
});
