/**
 * `deferflow db check` (reachable? which server/version? are the indexes deferflow needs there?)
 * and `deferflow db init` (create the collections' indexes; idempotent).
 */
import { DeferflowError } from '../../errors/deferflow-error.ts';
import { databaseName, indexStatus, serverName } from '../../app/queries/database-info.ts';
import { redactMongoUri } from '../../config/settings.ts';
import type { CliContext } from '../context.ts';
import { printMessage, printObject, printRows } from '../output/renderer.ts';

export async function checkDb(ctx: CliContext): Promise<void> {
  const uri = ctx.mongoUri();
  const store = await ctx.store();
  const started = Date.now();
  const { version } = await store.ping();
  const latencyMs = Date.now() - started;
  const server = await serverName(store);
  // Store.connect ensured the indexes; list them to show the collections are usable.
  const indexes = await indexStatus(store);
  const missing = indexes.filter((i) => !i.ok);
  if (ctx.format === 'json') {
    printObject(ctx.writer, 'json', {
      ok: missing.length === 0,
      uri: redactMongoUri(uri),
      database: databaseName(store),
      server,
      version,
      latency_ms: latencyMs,
      indexes,
    });
  } else {
    printObject(ctx.writer, ctx.format, {
      status: missing.length ? 'indexes missing' : 'ok',
      uri: redactMongoUri(uri),
      database: databaseName(store),
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

export async function initDb(ctx: CliContext): Promise<void> {
  const store = await ctx.store();
  await store.ensureIndexes();
  printMessage(ctx.writer, ctx.format, `Initialized database ${databaseName(store)}: indexes created`, { database: databaseName(store) });
}
