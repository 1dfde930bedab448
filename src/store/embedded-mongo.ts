/**
 * The embedded default: with no MONGODB_URI, `standalone`, `start` and `dags test` run on
 * mongodb-memory-server (the -core package downloads mongod on first start, not at npm install,
 * so `npm ci` never fails on machines that cannot download it).
 */
import { DeferflowError } from '../errors/deferflow-error.ts';

export interface MongoTarget {
  uri: string;
  /** Stop the embedded server, if we started one. */
  stop(): Promise<void>;
  embedded: boolean;
}

export async function resolveMongo(uri = process.env.MONGODB_URI): Promise<MongoTarget> {
  if (uri) return { uri, embedded: false, stop: async () => {} };
  try {
    const { MongoMemoryServer } = await import('mongodb-memory-server-core');
    const server = await MongoMemoryServer.create();
    return { uri: server.getUri('deferflow'), embedded: true, stop: async () => void (await server.stop()) };
  } catch (e) {
    throw new DeferflowError('CONFIG_ERROR', `No MONGODB_URI set and the embedded MongoDB could not start: ${(e as Error).message}`, {
      cause: e,
      hint: 'Set MONGODB_URI=mongodb://host:port/db to use an existing MongoDB (or FerretDB), or allow mongodb-memory-server to download mongod.',
    });
  }
}
