/**
 * Issue 14 point 1: every duration and number a DAG file gives deferflow is checked when the file
 * is imported, as an import error naming the argument, the bad value and file:line — never a
 * throw in a worker or a scheduler loop the first time a task fails.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DAG, task } from '../../../src/dag/index.ts';
import { DagImportError } from '../../../src/errors/dag-import-error.ts';

const THIS_FILE = new URL(import.meta.url).pathname;

function lineOf(marker: string): number {
  return (
    readFileSync(THIS_FILE, 'utf8')
      .split('\n')
      .findIndex((l) => l.includes(marker) && !l.includes('lineOf(')) + 1
  );
}

function importError(fn: () => unknown): DagImportError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DagImportError) return e;
    throw e;
  }
  throw new Error('no import error');
}

describe('DAG-level arguments', () => {
  it('rejects a bad default retry_delay at the DAG line, with the accepted forms (Airflow rejects it at import too)', () => {
    const e = importError(() => new DAG({ dagId: 'soon', defaultArgs: { retries: 1, retry_delay: 'soon' } })); // MARK:soon
    expect(e.message).toContain(`DAG 'soon': defaultArgs.retry_delay: Invalid duration "soon"`);
    expect(e.message).toContain("accepted forms: a number of seconds (e.g. 300), a string such as '300ms'");
    expect(e.location).toEqual({ file: THIS_FILE, line: lineOf('MARK:soon') });
    expect(e.message).toContain(`${THIS_FILE}:${lineOf('MARK:soon')}`);
  });

  it.each([
    [{ defaultArgs: { retries: -3 } }, 'defaultArgs.retries: must be at least 0, got -3'],
    [{ defaultArgs: { retries: 1.5 } }, 'defaultArgs.retries: must be a whole number, got 1.5'],
    [{ defaultArgs: { retries: '2' } }, 'defaultArgs.retries: must be a whole number, got "2"'],
    [{ defaultArgs: { execution_timeout: 'forever' } }, 'defaultArgs.execution_timeout: Invalid duration "forever"'],
    [{ defaultArgs: { execution_timeout: 0 } }, 'defaultArgs.execution_timeout: must be longer than 0, got 0'],
    [{ defaultArgs: { max_retry_delay: -5 } }, 'defaultArgs.max_retry_delay: Invalid duration -5 (negative durations are not allowed)'],
    [{ defaultArgs: { retry_delay: { minutes: 'five' } } }, 'defaultArgs.retry_delay: Invalid duration {"minutes":"five"} (minutes must be a finite number)'],
    [{ defaultArgs: { priority_weight: 2.5 } }, 'defaultArgs.priority_weight: must be a whole number, got 2.5'],
    [{ defaultArgs: { priority_weight: 2 ** 40 } }, 'defaultArgs.priority_weight: must be between -2147483648 and 2147483647'],
    [{ defaultArgs: { retry_exponential_backoff: 'yes' } }, 'defaultArgs.retry_exponential_backoff: must be true or false, got "yes"'],
    [{ defaultArgs: { trigger_rule: 'sometimes' } }, 'defaultArgs.trigger_rule: must be one of all_success, all_failed'],
    [{ defaultArgs: { queue: '' } }, 'defaultArgs.queue: must be a non-empty string'],
    [{ defaultArgs: { on_failure_callback: 'alert()' } }, 'defaultArgs.on_failure_callback: must be a function'],
    [{ dagrunTimeout: 'later' }, 'dagrunTimeout: Invalid duration "later"'],
    [{ dagrunTimeout: 0 }, 'dagrunTimeout: must be longer than 0, got 0'],
    [{ maxActiveRuns: 0 }, 'maxActiveRuns: must be at least 1, got 0'],
    [{ maxActiveTasks: 2.5 }, 'maxActiveTasks: must be a whole number, got 2.5'],
    [{ catchup: 'no' }, 'catchup: must be true or false, got "no"'],
    [{ tags: 'ml' }, 'tags: must be an array of strings'],
  ])('rejects %j', (options, expected) => {
    const e = importError(() => new DAG({ dagId: 'bad', ...(options as object) }));
    expect(e.message).toContain(expected);
    expect(e.location?.file).toBe(THIS_FILE);
  });

  it('names every problem at once', () => {
    const e = importError(() => new DAG({ dagId: 'many', maxActiveRuns: -1, defaultArgs: { retries: -1, retry_delay: 'x' } }));
    expect(e.message).toMatch(/maxActiveRuns: .*; defaultArgs\.retries: .*; defaultArgs\.retry_delay: /);
  });

  it('accepts every documented form', () => {
    const dag = new DAG({
      dagId: 'fine',
      dagrunTimeout: '1h30m',
      maxActiveRuns: 1,
      maxActiveTasks: 4,
      defaultArgs: {
        retries: 0,
        retry_delay: 'PT5M',
        max_retry_delay: { hours: 1 },
        execution_timeout: '0:10:00',
        priority_weight: -3,
        trigger_rule: 'all_done',
      },
    });
    expect(dag.dagrunTimeoutMs).toBe(5_400_000);
  });
});

describe('task arguments', () => {
  it('rejects a bad task argument at the task line', () => {
    const e = importError(
      () =>
        new DAG({ dagId: 'tasks' }, () => {
          task('ok', () => 1);
          task('flaky', () => 1, { retries: -3, retry_delay: 'soon' }); // MARK:task
        }),
    );
    expect(e.message).toContain('Task \'flaky\': retries: must be at least 0, got -3; retry_delay: Invalid duration "soon"');
    expect(e.location).toEqual({ file: THIS_FILE, line: lineOf('MARK:task') });
  });

  it('re-checks the effective arguments when the DAG is validated (arguments changed after construction)', () => {
    const dag = new DAG({ dagId: 'mutated' }, () => {
      task('t', () => 1);
    });
    (dag.getTask('t').args as Record<string, unknown>).execution_timeout = 'a while';
    expect(() => dag.validate()).toThrow(/Task 't' in DAG 'mutated': execution_timeout: Invalid duration "a while"/);
  });
});
