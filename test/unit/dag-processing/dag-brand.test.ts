/**
 * Two copies of deferflow in one process (compiled dist/ beside the source, a DAG project's own
 * install) must still recognise each other's DAGs and task signals: by registered-symbol brand,
 * not instanceof. A second copy is simulated by importing the same modules under another URL.
 */
import { describe, expect, it } from 'vitest';
import { DAG, isDag, task } from '../../../src/dag/index.ts';
import { currentDag, withDagContext } from '../../../src/dag/dag-context.ts';
import { isTaskDeferred, TaskDeferred } from '../../../src/dag/task-deferred.ts';
import { isTaskFailedNoRetry, isTaskSkipped, TaskSkipped } from '../../../src/errors/task-errors.ts';
import { collectDags } from '../../../src/dag-processing/collect-dags.ts';

type DagModule = typeof import('../../../src/dag/dag.ts');
type ContextModule = typeof import('../../../src/dag/dag-context.ts');
type DeferredModule = typeof import('../../../src/dag/task-deferred.ts');
type ErrorsModule = typeof import('../../../src/errors/task-errors.ts');

async function copyOf<T>(path: string): Promise<T> {
  return (await import(/* @vite-ignore */ `${path}?second-copy`)) as T;
}

describe('brands shared by every copy of deferflow', () => {
  it('recognises a DAG made by another copy of the DAG class', async () => {
    const other = await copyOf<DagModule>('../../../src/dag/dag.ts');
    expect(other.DAG).not.toBe(DAG);
    const foreign = new other.DAG({ dagId: 'foreign' }, () => {
      task('t', () => 1);
    });
    expect(foreign instanceof DAG).toBe(false);
    expect(isDag(foreign)).toBe(true);
    expect(isDag({ dagId: 'lookalike' })).toBe(false);
    expect(collectDags({ default: foreign, list: [new DAG({ dagId: 'local' })], other: 3 }).map((d) => d.dagId)).toEqual(['foreign', 'local']);
  });

  it('shares the builder context, so operators of one copy join a DAG of another', async () => {
    const other = await copyOf<ContextModule>('../../../src/dag/dag-context.ts');
    expect(other.currentDag).not.toBe(currentDag);
    const dag = new DAG({ dagId: 'ctx' });
    withDagContext(dag, () => {
      expect(other.currentDag()).toBe(dag);
    });
    expect(other.currentDag()).toBeUndefined();
  });

  it('recognises task signals thrown by another copy', async () => {
    const deferred = await copyOf<DeferredModule>('../../../src/dag/task-deferred.ts');
    const signal = new deferred.TaskDeferred({ trigger: { kind: 'x', kwargs: {} } as never, method: 'resume' });
    expect(signal instanceof TaskDeferred).toBe(false);
    expect(isTaskDeferred(signal)).toBe(true);
    expect(isTaskDeferred(new Error('no'))).toBe(false);

    const errors = await copyOf<ErrorsModule>('../../../src/errors/task-errors.ts');
    expect(new errors.TaskSkipped() instanceof TaskSkipped).toBe(false);
    expect(isTaskSkipped(new errors.TaskSkipped())).toBe(true);
    expect(isTaskFailedNoRetry(new errors.TaskFailedNoRetry('stop'))).toBe(true);
    expect(isTaskSkipped(new errors.TaskFailedNoRetry('stop'))).toBe(false);
  });
});
