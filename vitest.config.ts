import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A throw-away PostgreSQL cluster for the run (test/setup/pg-url.ts hands out databases).
    globalSetup: ['test/setup/postgres.ts'],
    // TensorFlow.js keeps a process-wide engine: isolate test files in forks.
    pool: 'forks',
    // Two cores: two files at a time.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
