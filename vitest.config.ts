/**
 * One suite, two kinds of file: fast unit tests and integration tests that start real servers
 * (CLI tests spawn `node src/cli/bin.mjs`). The machines have 2 cores, so at most two test files
 * run at once, each in its own forked process (native sockets and child processes are happier in
 * forks than in worker threads). Integration tests isolate themselves with a unique database name
 * per file, so concurrent files never collide.
 *
 * Projects:
 *  - `main`: every test, on MONGODB_URI (CI: mongo-java-server, an atomic server; a user's machine:
 *    mongodb-memory-server) — the lock-free path production runs on MongoDB.
 *  - `ferretdb`: only when DEFERFLOW_TEST_FERRETDB_URI is set (CI sets it): the store conformance
 *    tests (guarded transitions, claims, leases, per-document locks) once more on FerretDB v1,
 *    whose writes are not atomic, so they run through the doc-lock path.
 */
import { defineConfig } from 'vitest/config';

const ferretdbUri = process.env.DEFERFLOW_TEST_FERRETDB_URI;

/** Tests of the store contract: what must hold on every MongoDB-wire server we support. */
export const CONFORMANCE_TESTS = [
  'test/integration/scheduler/atomic-transitions.test.ts',
  'test/integration/scheduler/racing.test.ts',
  'test/integration/providers/connection-repository.test.ts',
  'test/integration/triggerer/triggerer.test.ts',
  'test/integration/store/doc-locks.test.ts',
  'test/integration/store/bulk-updates.test.ts',
  'test/integration/store/task-instance-history.test.ts',
  'test/integration/store/resolve-triggers.test.ts',
];

export default defineConfig({
  // `import … from 'deferflow'` (the seed DAGs, DAG files under test) resolves to src/ like the
  // tests' own imports do, not to dist/: one copy of the DAG classes (see package.json's exports).
  // Vitest adds its own server conditions to this list.
  ssr: { resolve: { conditions: ['deferflow-source'] } },
  test: {
    exclude: ['**/node_modules/**', 'test/fixtures/**', 'test/artifacts/**'],
    // MONGODB_URI, else one mongodb-memory-server for the run (test/support/mongodb-global-setup.ts).
    globalSetup: ['test/support/mongodb-global-setup.ts'],
    pool: 'forks',
    poolOptions: {
      forks: { minForks: 1, maxForks: 2 },
    },
    fileParallelism: true,
    // Integration tests start servers and run DAGs end to end, on a machine that may be busy;
    // unit tests finish far below this. Waits inside tests are on conditions, with their own limits.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
    // Quiet processes under test unless a test asks for logs.
    // Every API response is checked against its documented schema (src/api/schemas) in tests.
    env: { DEFERFLOW_LOG_LEVEL: process.env.DEFERFLOW_LOG_LEVEL ?? 'warn', DEFERFLOW_API_VALIDATE_RESPONSES: '1' },
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/**/*.test.ts'], setupFiles: ['test/support/mongodb-env.ts'] },
      },
      ...(ferretdbUri
        ? [
            {
              extends: true,
              test: {
                name: 'ferretdb',
                include: CONFORMANCE_TESTS,
                env: { MONGODB_URI: ferretdbUri },
              },
            },
          ]
        : []),
    ],
  },
});
