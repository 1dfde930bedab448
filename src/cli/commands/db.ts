/**
 * `deferflow db check` (reachable? which server/version? are the indexes deferflow needs there?)
 * and `deferflow db init` (create the collections' indexes; idempotent).
 */
import type { Command } from 'commander';
import { DeferflowError } from '../../errors/deferflow-error.ts';
import { databaseName, indexStatus, serverName } from '../../app/queries/database-info.ts';
import { redactMongoUri } from '../../config/settings.ts';
import { action } from '../command-kit.ts';
import type { CliContext } from '../context.ts';
import { printMessage, printObject, printRows } from '../output/renderer.ts';

async function check(ctx: CliContext): Promise<void> {
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

async function init(ctx: CliContext): Promise<void> {
  const store = await ctx.store();
  await store.ensureIndexes();
  printMessage(ctx.writer, ctx.format, `Initialized database ${databaseName(store)}: indexes created`, { database: databaseName(store) });
}

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('Database operations');
  db.command('check').description('Check the MongoDB connection, server version and indexes').action(action(check));
  db.command('init').description('Create the collections and indexes deferflow needs (idempotent)').action(action(init));
}
