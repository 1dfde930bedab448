/**
 * `deferflow variables get|set|list|delete|import|export` — Airflow's variables CLI, same flags:
 * `-j/--json` (de)serialises JSON values, `-d/--default` answers for a missing key,
 * `-a/--action-on-existing-key overwrite|fail|skip` on import. `set` keeps an existing
 * description unless `--description` is given.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { DeferflowError } from '../../errors/deferflow-error.ts';
import { NotFoundError } from '../../errors/not-found-error.ts';
import { VariableRepository } from '../../store/repositories/variable-repository.ts';
import type { Opts } from '../command-kit.ts';
import { AppContext } from '../../app/app-context.ts';
import { setVariable as setVariableUseCase } from '../../app/use-cases/variables.ts';
import type { ON_EXISTING_KEY } from '../program/variables.ts';
import type { CliContext } from '../context.ts';
import { printMessage, printRows, printScalar } from '../output/renderer.ts';
import { validate } from '../validation.ts';

const keyArg = z.string().min(1, 'must not be empty').max(250, 'must be at most 250 characters');

async function repo(ctx: CliContext): Promise<VariableRepository> {
  return new VariableRepository(await ctx.store());
}

export async function getVariable(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
  const key = validate(keyArg, args[0], { '': 'KEY' }, 'Invalid variable key');
  const raw = await (await repo(ctx)).get(key);
  let value: unknown;
  if (raw === undefined) {
    if (opts.default === undefined)
      throw new NotFoundError('VARIABLE_NOT_FOUND', `Variable ${key} does not exist`, 'Create it with `deferflow variables set KEY VALUE`, or pass --default.');
    value = opts.default;
  } else if (opts.json) {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new DeferflowError('INVALID_INPUT', `Variable ${key} is not valid JSON`, { hint: 'Read it without --json to see the raw text.' });
    }
  } else {
    value = raw;
  }
  if (ctx.format === 'json') printScalar(ctx.writer, 'json', value, key);
  else ctx.writer.out(typeof value === 'string' ? value : JSON.stringify(value, null, 2));
}

export async function setVariable(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
  const { key, value } = validate(
    z.object({ key: keyArg, value: z.string({ error: 'is required' }) }),
    { key: args[0], value: args[1] },
    { key: 'KEY', value: 'VALUE' },
    'Invalid variable',
  );
  let stored: unknown = value;
  if (opts.json) {
    try {
      stored = JSON.parse(value);
    } catch (e) {
      throw new DeferflowError('INVALID_INPUT', `VALUE is not valid JSON (${(e as Error).message})`, {
        hint: `Quote it for the shell, e.g. deferflow variables set ${key} '{"a": 1}' --json, or drop --json to store the text.`,
      });
    }
  }
  // No --description: an existing description stays (Airflow 2 drops it; issue 12 asked us not to).
  const description = typeof opts.description === 'string' ? opts.description : undefined;
  const { variable, created } = await setVariableUseCase(new AppContext({ store: await ctx.store() }), key, stored, description);
  printMessage(ctx.writer, ctx.format, `Variable ${key} created`, { key, description: variable.description, created });
}

export async function listVariables(ctx: CliContext): Promise<void> {
  const docs = await (await repo(ctx)).list();
  // Like Airflow: keys only (values may be secrets); descriptions help tell them apart.
  printRows(
    ctx.writer,
    ctx.format,
    docs.map((d) => ({ key: d.key, description: d.description })),
    [{ key: 'key' }, { key: 'description' }],
    'No variables found',
  );
}

export async function deleteVariable(ctx: CliContext, args: Array<string | undefined>): Promise<void> {
  const key = validate(keyArg, args[0], { '': 'KEY' }, 'Invalid variable key');
  const deleted = await (await repo(ctx)).delete(key);
  if (!deleted) throw new NotFoundError('VARIABLE_NOT_FOUND', `Variable ${key} does not exist`, 'List them with `deferflow variables list`.');
  printMessage(ctx.writer, ctx.format, `Variable ${key} deleted`, { key });
}

export async function importVariables(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
  const file = validate(z.string().min(1, 'is required'), args[0], { '': 'FILEPATH' }, 'Invalid file');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new DeferflowError('INVALID_INPUT', `Cannot read ${file}: ${(e as Error).message}`, {
      hint: 'Give the path of a JSON file such as {"key": "value"}.',
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new DeferflowError('INVALID_INPUT', `${file} is not valid JSON (${(e as Error).message})`, {
      hint: 'The file must hold one JSON object: {"key": "value", "other": {"nested": 1}}.',
    });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DeferflowError('INVALID_INPUT', `${file} must hold a JSON object of variables`, { hint: 'Example: {"key": "value", "other": {"nested": 1}}.' });
  }
  const onExisting = (opts.actionOnExistingKey as (typeof ON_EXISTING_KEY)[number] | undefined) ?? 'overwrite';
  const r = await repo(ctx);
  const app = new AppContext({ store: await ctx.store() });
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (onExisting === 'fail') {
    const existing = [];
    for (const [k] of entries) if ((await r.get(k)) !== undefined) existing.push(k);
    if (existing.length)
      throw new DeferflowError('INVALID_INPUT', `Variables already exist: ${existing.join(', ')}`, { hint: 'Use --action-on-existing-key overwrite or skip.' });
  }
  let updated = 0;
  const skipped: string[] = [];
  for (const [k, v] of entries) {
    if (onExisting === 'skip' && (await r.get(k)) !== undefined) {
      skipped.push(k);
      continue;
    }
    await setVariableUseCase(app, k, v);
    updated += 1;
  }
  printMessage(
    ctx.writer,
    ctx.format,
    `${updated} of ${entries.length} variables successfully updated.${skipped.length ? ` Skipped: ${skipped.join(', ')}` : ''}`,
    { updated, total: entries.length, skipped },
  );
}

export async function exportVariables(ctx: CliContext, args: Array<string | undefined>): Promise<void> {
  const file = validate(z.string().min(1, 'is required'), args[0], { '': 'FILEPATH' }, 'Invalid file');
  const out: Record<string, unknown> = {};
  for (const d of await (await repo(ctx)).list()) {
    // Airflow exports JSON-looking values as JSON so a round trip keeps their structure.
    try {
      out[d.key] = JSON.parse(d.val);
    } catch {
      out[d.key] = d.val;
    }
  }
  const text = `${JSON.stringify(out, null, 4)}\n`;
  if (file === '-') {
    ctx.writer.out(text);
    return;
  }
  await writeFile(file, text);
  printMessage(ctx.writer, ctx.format, `${Object.keys(out).length} variables successfully exported to ${file}`, { count: Object.keys(out).length, file });
}
