/** DAG authoring: dependencies, default_args, function tasks with XComArgs, and import errors that name file:line. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DAG, task, chain, XComArg } from '../../../src/dag/index.ts';
import { DagImportError } from '../../../src/errors/dag-import-error.ts';
import { DagBag } from '../../../src/dag-processing/dag-bag.ts';

const THIS_FILE = new URL(import.meta.url).pathname;

/** Line of a marker comment in this file, so assertions survive edits above it. */
function lineOf(marker: string): number {
  return (
    readFileSync(THIS_FILE, 'utf8')
      .split('\n')
      .findIndex((l) => l.includes(marker) && !l.includes('lineOf(')) + 1
  );
}

describe('dependencies', () => {
  it('then() chains left to right and fans out to lists', () => {
    const dag = new DAG({ dagId: 'deps' }, () => {
      const a = task('a', () => 1);
      const b = task('b', () => 1);
      const c = task('c', () => 1);
      const d = task('d', () => 1);
      a.then([b, c]);
      b.then(d);
      c.then(d);
    });
    dag.validate();
    expect([...dag.getTask('a').downstreamTaskIds].sort()).toEqual(['b', 'c']);
    expect([...dag.getTask('d').upstreamTaskIds].sort()).toEqual(['b', 'c']);
    expect(dag.roots.map((t) => t.taskId)).toEqual(['a']);
    expect(dag.topologicalOrder()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('chain() links lists pairwise and fans in/out around single tasks', () => {
    const dag = new DAG({ dagId: 'chain' }, () => {
      const [a, b1, b2, c1, c2, d] = ['a', 'b1', 'b2', 'c1', 'c2', 'd'].map((id) => task(id, () => 1));
      chain(a, [b1, b2], [c1, c2], d);
    });
    expect([...dag.getTask('a').downstreamTaskIds].sort()).toEqual(['b1', 'b2']);
    expect([...dag.getTask('b1').downstreamTaskIds]).toEqual(['c1']);
    expect([...dag.getTask('b2').downstreamTaskIds]).toEqual(['c2']);
    expect([...dag.getTask('d').upstreamTaskIds].sort()).toEqual(['c1', 'c2']);
    expect(() => chain(dag.getTask('a'), [dag.getTask('b1')], [dag.getTask('c1'), dag.getTask('c2')])).toThrow(/same length/);
  });
});

describe('default_args', () => {
  it('fill what a task leaves unset; explicit arguments win', () => {
    const dag = new DAG({ dagId: 'defaults', defaultArgs: { retries: 3, retry_delay: 60, queue: 'gpu', owner: 'ml' } }, () => {
      task('inherits', () => 1);
      task('overrides', () => 1, { retries: 0, queue: 'cpu' });
    });
    const a = dag.getTask('inherits');
    const b = dag.getTask('overrides');
    expect([a.retries, a.retryDelayMs, a.queue, a.args.owner]).toEqual([3, 60_000, 'gpu', 'ml']);
    expect([b.retries, b.retryDelayMs, b.queue]).toEqual([0, 60_000, 'cpu']);
    expect(a.triggerRule).toBe('all_success');
  });
});

describe('function tasks', () => {
  it('take XComArgs of other tasks as arguments, which become upstream dependencies', async () => {
    const dag = new DAG({ dagId: 'xcomargs' }, () => {
      const extract = task('extract', () => [1, 2]);
      const cfg = task('cfg', () => ({ factor: 3 }));
      task('transform', (_ctx, rows: number[], c: { factor: number }) => rows.map((r) => r * c.factor), { args: [extract.output, cfg.xcom('settings')] });
    });
    const t = dag.getTask('transform');
    expect([...t.upstreamTaskIds].sort()).toEqual(['cfg', 'extract']);
    expect((t as unknown as { op_args: unknown[] }).op_args[1]).toBeInstanceOf(XComArg);
    const pulled: Array<[string, string]> = [];
    const values: Record<string, unknown> = { 'extract/return_value': [1, 2], 'cfg/settings': { factor: 3 } };
    const ctx = { ti: { xcom_pull: (id: string, key: string) => (pulled.push([id, key]), values[`${id}/${key}`]) } };
    expect(await t.execute(ctx as never)).toEqual([3, 6]);
    expect(pulled).toEqual([
      ['extract', 'return_value'],
      ['cfg', 'settings'],
    ]);
  });
});

describe('import errors name the file and line', () => {
  it('duplicate task ids', () => {
    let err: unknown;
    try {
      new DAG({ dagId: 'dup' }, () => {
        task('x', () => 1);
        task('x', () => 2); // MARK:dup
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DagImportError);
    expect((err as DagImportError).message).toMatch(/Duplicate taskId 'x' in DAG 'dup'/);
    expect((err as DagImportError).location).toEqual({ file: THIS_FILE, line: lineOf('MARK:dup') });
    expect((err as DagImportError).message).toContain(`${THIS_FILE}:${lineOf('MARK:dup')}`);
  });

  it('cycles and unknown upstream ids (found by validate)', () => {
    const cyc = new DAG({ dagId: 'cyc' }, () => {
      const a = task('a', () => 1);
      const b = task('b', () => 1);
      a.then(b);
      b.then(a);
    });
    expect(() => cyc.validate()).toThrow(/Cycle detected in DAG 'cyc': a >> b >> a/);
    const unknown = new DAG({ dagId: 'unk' });
    task('b', () => 1, { dag: unknown, upstream_task_ids: ['ghost'] } as never);
    expect(() => unknown.validate()).toThrow(/names unknown upstream task 'ghost'/);
    expect(() => DagBag.fromDags([unknown])).toThrow(DagImportError);
  });

  it('bad schedules', () => {
    expect(() => new DAG({ dagId: 'sched', schedule: '61 * * * *', startDate: '2025-01-01' })).toThrow(/DAG 'sched': Invalid schedule/);
  });
});
