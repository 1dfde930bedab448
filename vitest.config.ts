/**
 * One suite, two kinds of file: fast unit tests and integration tests that start real servers
 * (FerretDB is shared; CLI tests spawn `node src/cli/bin.mjs`). The machines have 2 cores, so at
 * most two test files run at once, each in its own forked process (native sockets and child
 * processes are happier in forks than in worker threads). Integration tests isolate themselves
 * with a unique database name per file, so concurrent files never collide.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/fixtures/**', 'test/artifacts/**'],
    // MONGODB_URI, else one mongodb-memory-server for the run (test/support/mongodb-global-setup.ts).
    globalSetup: ['test/support/mongodb-global-setup.ts'],
    setupFiles: ['test/support/mongodb-env.ts'],
    pool: 'forks',
    poolOptions: {
      forks: { minForks: 1, maxForks: 2 },
    },
    fileParallelism: true,
    // Integration tests start servers and run DAGs end to end; unit tests finish far below this.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
    // Quiet processes under test unless a test asks for logs.
    env: { DEFERFLOW_LOG_LEVEL: process.env.DEFERFLOW_LOG_LEVEL ?? 'warn' },
  },
});
