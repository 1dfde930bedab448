/**
 * Which MongoDB the suite runs on. With MONGODB_URI set (our CI and dev machines: FerretDB v1),
 * that server. Without it — a user's machine with internet — one mongodb-memory-server for the
 * whole run (the -core package downloads and caches mongod on first start). Every test file then
 * makes its own database on it, as they do on FerretDB.
 */
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    mongodbUri: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  const given = process.env.MONGODB_URI;
  if (given) {
    project.provide('mongodbUri', given);
    return;
  }
  const { MongoMemoryServer } = await import('mongodb-memory-server-core');
  let server: InstanceType<typeof MongoMemoryServer>;
  try {
    server = await MongoMemoryServer.create();
  } catch (e) {
    throw new Error(
      `MONGODB_URI is not set and mongodb-memory-server could not start mongod (${(e as Error).message}). ` +
        'Set MONGODB_URI=mongodb://host:port to run the tests on an existing MongoDB ≥ 6 or FerretDB server.',
    );
  }
  const uri = server.getUri();
  // Child processes the tests spawn (CLI e2e) inherit it; forked test workers get it via provide().
  process.env.MONGODB_URI = uri;
  project.provide('mongodbUri', uri);
  return async () => {
    await server.stop();
  };
}
