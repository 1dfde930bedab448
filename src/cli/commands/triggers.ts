/**
 * `deferflow triggers list` — what is deferred, on what, owned by which triggerer, for how long.
 * (Airflow has no CLI for this; operators asked for one: "what is my triggerer holding?")
 */
import { z } from 'zod';
import type { TriggerDoc } from '../../store/schema.ts';
import { oldestTriggers } from '../../app/queries/trigger-queries.ts';
import { formatDuration } from '../../util/duration.ts';
import type { Opts } from '../command-kit.ts';
import type { CliContext } from '../context.ts';
import { printRows } from '../output/renderer.ts';
import { dagIdArg, positiveIntString, validate } from '../validation.ts';

const listInput = z.object({ dagId: dagIdArg.optional(), limit: positiveIntString('--limit') });

export async function listTriggersCommand(ctx: CliContext, _args: Array<string | undefined>, opts: Opts): Promise<void> {
  const input = validate(listInput, { dagId: opts.dagId, limit: opts.limit }, { dagId: '--dag-id', limit: '--limit' }, 'Invalid input');
  const store = await ctx.store();
  const docs: TriggerDoc[] = await oldestTriggers(store, { dagId: input.dagId }, input.limit);
  const now = Date.now();
  const rows = docs.map((t) => ({
    id: t._id,
    kind: t.kind,
    dag_id: t.dag_id,
    run_id: t.run_id,
    task_id: t.task_id,
    waiting_on: t.description,
    triggerer_id: t.triggerer_id ?? '(unclaimed)',
    age: formatDuration(now - t.created_at.getTime()),
    deadline: t.deadline,
    created_at: t.created_at,
  }));
  const columns =
    ctx.format === 'json'
      ? Object.keys(rows[0] ?? { id: 0 }).map((key) => ({ key }))
      : [
          { key: 'id' },
          { key: 'kind' },
          { key: 'dag_id' },
          { key: 'task_id' },
          { key: 'run_id' },
          { key: 'waiting_on' },
          { key: 'triggerer_id' },
          { key: 'age' },
          { key: 'deadline' },
        ];
  printRows(ctx.writer, ctx.format, rows, columns, 'No triggers: nothing is deferred');
}
