/**
 * `deferflow connections import FILE [--overwrite]` and `connections export FILE|-` — Airflow's
 * commands and file formats (json, yaml, env; src/connections/connection-files.ts).
 *
 * Secrets stay encrypted at rest: import stores them through the repository, which encrypts.
 * Export writes them in clear only where the user asked — the named file (created readable by its
 * owner only) or stdout for `-` — and prints nothing secret anywhere else.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { AppContext } from '../../app/app-context.ts';
import { importConnections as importConnectionsUseCase } from '../../app/use-cases/connections.ts';
import {
  CONNECTION_FILE_FORMATS,
  CONNECTION_SERIALIZATIONS,
  connectionFileFormatOf,
  formatConnectionsFile,
  parseConnectionsFile,
} from '../../connections/connection-files.ts';
import { ConnectionRepository } from '../../connections/connection-repository.ts';
import { DeferflowError } from '../../errors/deferflow-error.ts';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';
import type { Opts } from '../command-kit.ts';
import type { CliContext } from '../context.ts';
import { printMessage } from '../output/renderer.ts';
import { validate } from '../validation.ts';

const EXTENSIONS_HINT = 'name it .json, .yaml, .yml or .env';
const fileArg = z.string({ error: 'is required' }).min(1, 'is required');

export async function importConnections(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
  const file = validate(fileArg, args[0], { '': 'FILEPATH' }, 'Cannot import connections');
  const format = connectionFileFormatOf(file);
  if (!format) throw new InvalidInputError('Cannot import connections', [{ path: 'FILEPATH', message: `${file}: unknown file format; ${EXTENSIONS_HINT}` }]);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new DeferflowError(
      'INVALID_INPUT',
      `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
      {
        hint: 'Give the path of a connections file exported by `deferflow connections export` or `airflow connections export`.',
      },
    );
  }
  const connections = parseConnectionsFile(text, format, file);
  const app = new AppContext({ store: await ctx.store() });
  const r = await importConnectionsUseCase(app, connections, { overwrite: Boolean(opts.overwrite) });
  if (ctx.format === 'json') {
    ctx.writer.out(JSON.stringify({ imported: [...r.created, ...r.updated], skipped: r.skipped }));
    return;
  }
  if (connections.length === 0) ctx.writer.out(`No connections found in ${file}`);
  // Airflow's lines, in file order.
  const skipped = new Set(r.skipped);
  for (const c of connections) {
    ctx.writer.out(skipped.has(c.conn_id) ? `Could not import connection ${c.conn_id}: connection already exists.` : `Imported connection ${c.conn_id}`);
  }
  if (skipped.size) ctx.writer.err(`${skipped.size} connection(s) left as they were; pass --overwrite to replace them.`);
}

const exportInput = z
  .object({
    file: fileArg,
    fileFormat: z.enum(CONNECTION_FILE_FORMATS, { error: `must be one of ${CONNECTION_FILE_FORMATS.join(', ')}` }).optional(),
    serialization: z.enum(CONNECTION_SERIALIZATIONS, { error: `must be one of ${CONNECTION_SERIALIZATIONS.join(', ')}` }).optional(),
  })
  .superRefine((v, c) => {
    if (!v.fileFormat && v.file !== '-' && !connectionFileFormatOf(v.file)) {
      c.addIssue({ code: 'custom', path: ['file'], message: `${v.file}: unknown file format; ${EXTENSIONS_HINT}, or give --file-format json|yaml|env` });
    }
  });

export async function exportConnections(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
  if (opts.fileFormat !== undefined && opts.format !== undefined && opts.fileFormat !== opts.format) {
    throw new InvalidInputError('Cannot export connections', [{ path: '--format', message: 'is the old name of --file-format; give one of them' }]);
  }
  const v = validate(
    exportInput,
    { file: args[0], fileFormat: opts.fileFormat ?? opts.format, serialization: opts.serializationFormat },
    {
      file: 'FILEPATH',
      fileFormat: opts.fileFormat === undefined && opts.format !== undefined ? '--format' : '--file-format',
      serialization: '--serialization-format',
    },
    'Cannot export connections',
  );
  const format = v.fileFormat ?? (v.file === '-' ? 'json' : connectionFileFormatOf(v.file)!);
  if (v.serialization && format !== 'env') {
    throw new InvalidInputError('Cannot export connections', [{ path: '--serialization-format', message: 'applies to env files only (--file-format env)' }]);
  }
  const connections = await new ConnectionRepository(await ctx.store()).all();
  const text = formatConnectionsFile(connections, format, v.serialization ?? 'uri');
  if (v.file === '-') {
    if (text) ctx.writer.out(text);
    return;
  }
  // Secrets in clear: the file is created readable by its owner only.
  await writeFile(v.file, text, { mode: 0o600 });
  printMessage(ctx.writer, ctx.format, `Connections successfully exported to ${v.file}.`, { file: v.file, format, count: connections.length });
}
