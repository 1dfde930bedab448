/**
 * `deferflow connections add|get|list|delete` — Airflow's flags (`--conn-uri` or `--conn-type`
 * with `--conn-host/-login/-password/-schema/-port/-extra/-description`). Storage, encryption and
 * masking live in src/connections; this command never prints a password or a sensitive extra value.
 * `add` on an existing id fails as Airflow's does, except over a connection `deferflow standalone`
 * made for its local AWS, which it replaces (src/app/use-cases/connections.ts).
 */
import { z } from 'zod';
import { DeferflowError } from '../../errors/deferflow-error.ts';
import { ConnectionRepository, maskConnection } from '../../connections/connection-repository.ts';
import { parseConnectionUri, redactUri, toConnectionUri } from '../../connections/connection-uri.ts';
import type { Connection, ConnectionInput } from '../../connections/connection.ts';
import { maskSecrets } from '../../connections/secret-masker.ts';
import type { Opts } from '../command-kit.ts';
import { AppContext } from '../../app/app-context.ts';
import { addConnection as addConnectionUseCase } from '../../app/use-cases/connections.ts';
import type { CliContext } from '../context.ts';
import { printMessage, printObject, printRows } from '../output/renderer.ts';
import { validate } from '../validation.ts';

export const connIdArg = z.string({ error: 'is required' }).regex(/^[A-Za-z0-9_.-]{1,250}$/, "must be 1-250 letters, digits, '_', '.' or '-'");

export async function repo(ctx: CliContext): Promise<ConnectionRepository> {
  return new ConnectionRepository(await ctx.store());
}

/** The connection as a URI with every secret masked. */
export function safeUri(conn: Connection): string {
  return maskSecrets(redactUri(toConnectionUri(maskConnection(conn)))).replaceAll('%2A%2A%2A', '***');
}

const FIELD_FLAGS = ['connHost', 'connLogin', 'connPassword', 'connSchema', 'connPort', 'connExtra', 'connDescription'] as const;

const addInput = z
  .object({
    connId: connIdArg,
    connUri: z.string().min(1, 'must not be empty').optional(),
    connType: z.string().min(1, 'must not be empty').optional(),
    connPort: z
      .string()
      .regex(/^\d{1,5}$/, 'must be a port number such as 5432')
      .optional(),
    connExtra: z
      .string()
      .optional()
      .refine((s) => {
        if (s === undefined) return true;
        try {
          const v: unknown = JSON.parse(s);
          return typeof v === 'object' && v !== null && !Array.isArray(v);
        } catch {
          return false;
        }
      }, 'must be a JSON object such as \'{"region_name": "us-east-1"}\''),
  })
  .superRefine((v, ctx) => {
    if (!v.connUri && !v.connType) ctx.addIssue({ code: 'custom', path: ['connType'], message: 'give either --conn-uri or --conn-type' });
    if (v.connUri && v.connType)
      ctx.addIssue({ code: 'custom', path: ['connType'], message: 'cannot be combined with --conn-uri (the URI scheme is the type)' });
  });

export async function addConnection(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
  const v = validate(
    addInput,
    { connId: args[0], connUri: opts.connUri, connType: opts.connType, connPort: opts.connPort, connExtra: opts.connExtra },
    { connId: 'CONN_ID', connUri: '--conn-uri', connType: '--conn-type', connPort: '--conn-port', connExtra: '--conn-extra' },
    'Cannot add connection',
  );
  let input: ConnectionInput;
  if (v.connUri) {
    const fieldsGiven = FIELD_FLAGS.filter((f) => opts[f] !== undefined && f !== 'connDescription' && f !== 'connExtra');
    if (fieldsGiven.length) {
      throw new DeferflowError(
        'INVALID_INPUT',
        `--conn-uri cannot be combined with ${fieldsGiven.map((f) => `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`,
        {
          hint: 'Put host, login, password, schema and port into the URI, or give them as flags with --conn-type instead.',
        },
      );
    }
    const parsed = parseConnectionUri(v.connUri);
    input = {
      ...parsed,
      conn_id: v.connId,
      description: (opts.connDescription as string | undefined) ?? parsed.description,
      extra: (opts.connExtra as string | undefined) ?? parsed.extra,
    };
  } else {
    input = {
      conn_id: v.connId,
      conn_type: v.connType!,
      host: opts.connHost as string | undefined,
      login: opts.connLogin as string | undefined,
      password: opts.connPassword as string | undefined,
      schema: opts.connSchema as string | undefined,
      port: v.connPort,
      extra: v.connExtra,
      description: opts.connDescription as string | undefined,
    };
  }
  const { connection: conn, replacedManaged } = await addConnectionUseCase(new AppContext({ store: await ctx.store() }), input);
  const message = replacedManaged
    ? `Successfully added \`conn_id\`=${conn.conn_id} : ${safeUri(conn)} (it replaced the one deferflow standalone had made for its local AWS; standalone leaves it alone from now on)`
    : `Successfully added \`conn_id\`=${conn.conn_id} : ${safeUri(conn)}`;
  printMessage(ctx.writer, ctx.format, message, { conn_id: conn.conn_id, uri: safeUri(conn), replaced_managed: replacedManaged });
}

function row(conn: Connection): Record<string, unknown> {
  const m = maskConnection(conn);
  return {
    conn_id: m.conn_id,
    conn_type: m.conn_type,
    description: m.description,
    host: m.host,
    schema: m.schema,
    login: m.login,
    password: m.password,
    port: m.port,
    extra: m.extra,
  };
}

const LIST_COLUMNS = ['conn_id', 'conn_type', 'description', 'host', 'schema', 'login', 'password', 'port', 'extra'].map((key) => ({ key }));

export async function getConnection(ctx: CliContext, args: Array<string | undefined>): Promise<void> {
  const connId = validate(connIdArg, args[0], { '': 'CONN_ID' }, 'Invalid connection id');
  const conn = await (await repo(ctx)).get(connId);
  printObject(ctx.writer, ctx.format, { ...row(conn), uri: safeUri(conn) });
}

export async function listConnections(ctx: CliContext, _args: Array<string | undefined>, opts: Opts): Promise<void> {
  let conns: Connection[] = await (await repo(ctx)).list();
  if (typeof opts.connId === 'string') conns = conns.filter((c) => c.conn_id === opts.connId);
  printRows(ctx.writer, ctx.format, conns.map(row), LIST_COLUMNS, 'No connections found');
}

export async function deleteConnection(ctx: CliContext, args: Array<string | undefined>): Promise<void> {
  const connId = validate(connIdArg, args[0], { '': 'CONN_ID' }, 'Invalid connection id');
  await (await repo(ctx)).delete(connId);
  printMessage(ctx.writer, ctx.format, `Successfully deleted connection with \`conn_id\`=${connId}`, { conn_id: connId });
}
