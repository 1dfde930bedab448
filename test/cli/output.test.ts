import { describe, expect, it } from 'vitest';
import { printRows, printObject, renderPlain, type Writer } from '../../src/cli/output/renderer.ts';
import { formatState } from '../../src/cli/output/state-colors.ts';
import { RunProgressView, type RunSnapshot } from '../../src/cli/output/run-progress.ts';
import { jsonObject, logicalDate, validate } from '../../src/cli/validation.ts';
import { z } from 'zod';

function capture(isTty = false): Writer & { outText: string[]; errText: string[] } {
  const outText: string[] = [];
  const errText: string[] = [];
  return { out: (t) => void outText.push(t), err: (t) => void errText.push(t), isTty, outText, errText };
}

describe('renderers', () => {
  const rows = [
    { task_id: 'a', state: 'success', n: 1 },
    { task_id: 'b', state: null, n: 2 },
  ];
  const cols = [{ key: 'task_id' }, { key: 'state', state: true }, { key: 'n' }];

  it("prints json with every column and dates as Airflow's ISO timestamps (+00:00)", () => {
    const w = capture();
    printRows(w, 'json', [{ ...rows[0], at: new Date('2025-04-09T00:00:00Z') }], [...cols, { key: 'at' }]);
    expect(JSON.parse(w.outText[0])).toEqual([{ task_id: 'a', state: 'success', n: 1, at: '2025-04-09T00:00:00+00:00' }]);
  });

  it('prints plain as tab-separated lines with a header, null states as none', () => {
    expect(renderPlain(rows, cols)).toBe('task_id\tstate\tn\na\tsuccess\t1\nb\tnone\t2');
  });

  it('says so when a table is empty, and colours states only when asked', () => {
    const w = capture();
    printRows(w, 'table', [], cols, 'No variables found');
    expect(w.outText).toEqual(['No variables found']);
    expect(formatState('failed')).toBe('failed');
    expect(formatState('failed', true)).toBe('\u001b[38;5;196mfailed\u001b[0m');
    const o = capture();
    printObject(o, 'plain', { a: 1, b: null });
    expect(o.outText[0]).toBe('a\t1\nb\t');
  });
});

describe('run progress without a terminal', () => {
  const snap = (state: string, tis: Array<[string, string | null, number]>): RunSnapshot => ({
    dag_id: 'd',
    run_id: 'r',
    state,
    logical_date: new Date(0),
    start_date: null,
    end_date: null,
    task_instances: tis.map(([task_id, s, try_number]) => ({
      task_id,
      state: s,
      try_number,
      max_tries: 1,
      operator: '@task',
      start_date: null,
      end_date: null,
      duration: null,
      last_error: s === 'up_for_retry' ? 'boom\nstack' : null,
    })),
  });

  it('prints one line per state change (including a retry of the same state) and nothing when unchanged', () => {
    const w = capture(false);
    const v = new RunProgressView(w, 'table');
    v.update(
      snap('running', [
        ['a', null, 0],
        ['b', null, 0],
      ]),
    );
    v.update(
      snap('running', [
        ['a', 'running', 1],
        ['b', null, 0],
      ]),
    );
    v.update(
      snap('running', [
        ['a', 'running', 1],
        ['b', null, 0],
      ]),
    );
    v.update(
      snap('running', [
        ['a', 'up_for_retry', 1],
        ['b', null, 0],
      ]),
    );
    v.update(
      snap('running', [
        ['a', 'running', 2],
        ['b', null, 0],
      ]),
    );
    const lines = w.outText.map((l) => l.replace(/^\[\d\d:\d\d:\d\d\] /, ''));
    expect(lines).toEqual([
      'run r: new → running',
      'a: none → running (try 1/2)',
      'a: running → up_for_retry (try 1/2) — boom',
      'a: up_for_retry → running (try 2/2)',
    ]);
  });

  it('sends progress to stderr and the final document to stdout in json mode', () => {
    const w = capture(false);
    const v = new RunProgressView(w, 'json');
    v.update(snap('running', [['a', 'running', 1]]));
    v.final(snap('success', [['a', 'success', 1]]));
    expect(w.errText.length).toBe(2);
    expect(JSON.parse(w.outText.join(''))).toMatchObject({
      dag_id: 'd',
      run_id: 'r',
      state: 'success',
      task_instances: [{ task_id: 'a', state: 'success', try_number: 1 }],
    });
  });
});

describe('input validation', () => {
  it('reads logical dates as Airflow does and rejects impossible ones', () => {
    expect(validate(logicalDate, '2025-04-09').toISOString()).toBe('2025-04-09T00:00:00.000Z');
    expect(validate(logicalDate, '2025-04-09T12:30:00').toISOString()).toBe('2025-04-09T12:30:00.000Z');
    expect(validate(logicalDate, '2025-04-09T12:30:00+02:00').toISOString()).toBe('2025-04-09T10:30:00.000Z');
    expect(() => validate(logicalDate, '2025-02-30', { '': '--exec-date' })).toThrow('--exec-date: "2025-02-30" is not a valid calendar date');
    expect(() => validate(logicalDate, 'tomorrow')).toThrow('is not a date: use 2025-04-09 or 2025-04-09T12:00:00Z');
  });

  it('names the flag of a bad JSON object', () => {
    const schema = z.object({ conf: jsonObject });
    expect(() => validate(schema, { conf: '"text"' }, { conf: '--conf' })).toThrow('--conf: must be a JSON object such as \'{"key": "value"}\', not string');
  });
});
