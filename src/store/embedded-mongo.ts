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

const HINT = 'Set MONGODB_URI=mongodb://host:port/db to use an existing MongoDB (or FerretDB), or allow mongodb-memory-server to download mongod.';

export async function resolveMongo(uri = process.env.MONGODB_URI): Promise<MongoTarget> {
  if (uri) return { uri, embedded: false, stop: async () => {} };
  const { MongoBinary, MongoMemoryServer, errors } = await import('mongodb-memory-server-core');
  try {
    // Find (or download) mongod first: MongoMemoryServer.create() would do it too, but when that
    // fails it prints the whole error with its stack to the console itself, before ours.
    await MongoBinary.getPath();
  } catch (e) {
    const why = e instanceof errors.DownloadError ? `mongod could not be downloaded from ${e.url} (${e.msg})` : (e as Error).message;
    throw new DeferflowError('CONFIG_ERROR', `No MONGODB_URI set and the embedded MongoDB could not start: ${why}`, { cause: e, hint: HINT });
  }
  try {
    const server = await MongoMemoryServer.create();
    return { uri: server.getUri('deferflow'), embedded: true, stop: async () => void (await server.stop()) };
  } catch (e) {
    throw new DeferflowError('CONFIG_ERROR', `No MONGODB_URI set and the embedded MongoDB could not start: ${(e as Error).message}`, { cause: e, hint: HINT });
  }
}
