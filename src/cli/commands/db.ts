/**
 * `deferflow db check` (reachable? which server/version? are the indexes deferflow needs there?)
 * and `deferflow db init` (create the collections' indexes; idempotent).
 */
import type { Command } from 'commander';
import { DeferflowError } from '../../errors/deferflow-error.ts';
import { COLLECTIONS } from '../../store/schema.ts';
import type { Store } from '../../store/store.ts';
import { redactMongoUri } from '../../config/settings.ts';
import { action } from '../command-kit.ts';
import type { CliContext } from '../context.ts';
import { printMessage, printObject, printRows } from '../output/renderer.ts';

const ID_ONLY: ReadonlySet<string> = new Set([COLLECTIONS.variables, COLLECTIONS.connections, COLLECTIONS.importErrors]);
const INDEXED: ReadonlySet<string> = new Set(Object.values(COLLECTIONS).filter((c) => !ID_ONLY.has(c)));

interface IndexStatus {
  collection: string;
  indexes: number;
  ok: boolean;
}

async function indexStatus(store: Store): Promise<IndexStatus[]> {
  const out: IndexStatus[] = [];
  for (const name of Object.values(COLLECTIONS)) {
    let count = 0;
    try {
      count = (await store.db.collection(name).indexes()).length;
    } catch {
      count = 0; // collection does not exist yet
    }
    // Collections looked up only by _id need no secondary index (and exist once first written).
    out.push({ collection: name, indexes: count, ok: count > 0 || !INDEXED.has(name) });
  }
  return out;
}

async function check(ctx: CliContext): Promise<void> {
  const uri = ctx.mongoUri();
  const store = await ctx.store();
  const started = Date.now();
  const { version } = await store.ping();
  const latencyMs = Date.now() - started;
  let server = 'MongoDB';
  try {
    const hello = (await store.db.command({ buildInfo: 1 })) as { ferretdbVersion?: string; ferretdb?: unknown };
    if (hello.ferretdbVersion || hello.ferretdb) server = `FerretDB ${hello.ferretdbVersion ?? ''}`.trim();
  } catch {
    // buildInfo already worked in ping(); a second failure changes nothing we report
  }
  // Store.connect ensured the indexes; list them to show the collections are usable.
  const indexes = await indexStatus(store);
  const missing = indexes.filter((i) => !i.ok);
  if (ctx.format === 'json') {
    printObject(ctx.writer, 'json', {
      ok: missing.length === 0,
      uri: redactMongoUri(uri),
      database: store.db.databaseName,
      server,
      version,
      latency_ms: latencyMs,
      indexes,
    });
  } else {
    printObject(ctx.writer, ctx.format, {
      status: missing.length ? 'indexes missing' : 'ok',
      uri: redactMongoUri(uri),
      database: store.db.databaseName,
      server,
      version,
      latency_ms: latencyMs,
    });
    printRows(
      ctx.writer,
      ctx.format,
      indexes.map((i) => ({ ...i })),
      [{ key: 'collection' }, { key: 'indexes' }, { key: 'ok' }],
    );
  }
  if (missing.length) {
    throw new DeferflowError('CONFIG_ERROR', `Collections without indexes: ${missing.map((m) => m.collection).join(', ')}`, {
      hint: 'Run `deferflow db init`.',
    });
  }
}

async function init(ctx: CliContext): Promise<void> {
  const store = await ctx.store();
  await store.ensureIndexes();
  printMessage(ctx.writer, ctx.format, `Initialized database ${store.db.databaseName}: indexes created`, { database: store.db.databaseName });
}

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('Database operations');
  db.command('check').description('Check the MongoDB connection, server version and indexes').action(action(check));
  db.command('init').description('Create the collections and indexes deferflow needs (idempotent)').action(action(init));
}
