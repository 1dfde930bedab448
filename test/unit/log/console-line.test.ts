/** The human console line and the choice of log format. */
import { describe, expect, it } from 'vitest';
import { consoleLine } from '../../../src/log/console-line.ts';
import { createLogger, logFormatFromEnv } from '../../../src/log/logger.ts';

const line = (log: Record<string, unknown>, verbose = false) => consoleLine({ level: 30, time: 0, pid: 1, hostname: 'h', ...log }, 'msg', { verbose });

describe('consoleLine', () => {
  it('prints the message, then the record’s own fields as key=value (JSON only where needed)', () => {
    expect(line({ name: 'standalone', component: 'scheduler', scheduler_id: 's-1', dag_id: 'etl', state: 'success', msg: 'DAG run success' })).toBe(
      'DAG run success  dag_id=etl state=success',
    );
    expect(line({ name: 'x', msg: 'hello', conf: { a: 'b c' }, note: 'two words', n: 3, ok: true })).toBe(
      'hello  conf={"a":"b c"} note="two words" n=3 ok=true',
    );
  });

  it('names a task’s line by dag, task (map index) and try instead of listing its ids', () => {
    const task = { name: 'worker', dag_id: 'etl', run_id: 'manual__1', task_id: 'load', try_number: 2, msg: 'Marking task as SUCCESS' };
    expect(line(task)).toBe('etl.load try 2: Marking task as SUCCESS');
    expect(line({ ...task, map_index: 3 })).toBe('etl.load[3] try 2: Marking task as SUCCESS');
  });

  it('puts the component in front when the logger has no name (pino-pretty then prints no `(name)`)', () => {
    expect(line({ component: 'local-aws', msg: 'listening', url: 'http://127.0.0.1:4566' })).toBe('local-aws: listening  url=http://127.0.0.1:4566');
  });

  it('shows an error’s message inline, and its stack only at error level or when verbose', () => {
    const err = { type: 'Error', message: 'connection reset', stack: 'Error: connection reset\n    at x (y.ts:1:1)' };
    expect(line({ name: 'w', level: 40, err, msg: 'lease renewal failed' })).toBe('lease renewal failed  err="connection reset"');
    expect(line({ name: 'w', level: 40, err, msg: 'lease renewal failed' }, true)).toBe(
      'lease renewal failed  err="connection reset"\n    Error: connection reset\n        at x (y.ts:1:1)',
    );
    expect(line({ name: 'w', level: 50, err, msg: 'claim failed' })).toContain('\n    Error: connection reset');
  });
});

describe('log format', () => {
  it('comes from DEFERFLOW_LOG_FORMAT when the caller does not choose, and rejects anything else', () => {
    expect(logFormatFromEnv({})).toBeUndefined();
    expect(logFormatFromEnv({ DEFERFLOW_LOG_FORMAT: 'json' })).toBe('json');
    expect(() => logFormatFromEnv({ DEFERFLOW_LOG_FORMAT: 'loud' })).toThrow('DEFERFLOW_LOG_FORMAT: must be one of pretty, json');
  });

  it('pretty is one line per record with time, level and component; json keeps every field', () => {
    const out: string[] = [];
    const destination = { write: (l: string) => void out.push(l) };
    createLogger({ name: 'standalone', format: 'pretty', destination }).child({ component: 'worker' }).warn({ slots: 4 }, 'slow');
    expect(out.join('')).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN \(worker\): slow {2}slots=4\n$/);
    out.length = 0;
    createLogger({ name: 'standalone', format: 'json', destination }).child({ component: 'worker' }).warn({ slots: 4 }, 'slow');
    expect(JSON.parse(out.join(''))).toMatchObject({ level: 40, name: 'standalone', component: 'worker', slots: 4, msg: 'slow' });
  });
});
