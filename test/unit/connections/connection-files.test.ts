import { describe, expect, it } from 'vitest';
import { connectionFileFormatOf, formatConnectionsFile, parseConnectionsFile } from '../../../src/connections/connection-files.ts';
import type { Connection } from '../../../src/connections/connection.ts';

const SECRET = 's3cr3t/with+chars';
const conns: Connection[] = [
  {
    conn_id: 'aws_default',
    conn_type: 'aws',
    description: 'prod',
    host: null,
    schema: null,
    login: 'AKIAEXAMPLE',
    password: SECRET,
    port: null,
    extra: '{"region_name":"eu-west-1"}',
  },
  { conn_id: 'pg', conn_type: 'postgres', description: null, host: 'db.internal', schema: 'warehouse', login: 'etl', password: 'pw', port: 5432, extra: null },
];

describe('connection files (Airflow formats)', () => {
  it('knows the format from the extension', () => {
    expect(['a.json', 'a.yaml', 'a.YML', 'x/.env', 'a.txt'].map(connectionFileFormatOf)).toEqual(['json', 'yaml', 'yaml', 'env', null]);
  });

  for (const [format, serialization] of [
    ['json', 'uri'],
    ['yaml', 'uri'],
    ['env', 'uri'],
    ['env', 'json'],
  ] as const) {
    it(`round-trips through ${format}${format === 'env' ? ` (${serialization})` : ''}`, () => {
      const text = formatConnectionsFile(conns, format, serialization);
      const back = parseConnectionsFile(text, format, `f.${format}`);
      // A URI carries no description (Airflow's get_uri drops it); everything else survives.
      const expected = format === 'env' && serialization === 'uri' ? conns.map((c) => ({ ...c, description: null })) : conns;
      expect(back).toEqual(expected);
    });
  }

  it("exports Airflow's json shape", () => {
    expect(JSON.parse(formatConnectionsFile(conns.slice(1), 'json'))).toEqual({
      pg: { conn_type: 'postgres', description: null, login: 'etl', password: 'pw', host: 'db.internal', port: 5432, schema: 'warehouse', extra: null },
    });
  });

  it('reads what Airflow accepts: URIs as values, extra as an object or extra_dejson, comments in env files', () => {
    const json = parseConnectionsFile(
      JSON.stringify({
        from_uri: 'http://user:pw@example.com:8080/path',
        obj: { conn_type: 'http', host: 'h', extra: { timeout: 3 } },
        dejson: { conn_type: 'http', extra_dejson: { a: 1 } },
        listed: [{ conn_type: 'http' }],
      }),
      'json',
      'c.json',
    );
    expect(json.map((c) => [c.conn_id, c.conn_type, c.host, c.extra])).toEqual([
      ['from_uri', 'http', 'example.com', null],
      ['obj', 'http', 'h', '{"timeout":3}'],
      ['dejson', 'http', null, '{"a":1}'],
      ['listed', 'http', null, null],
    ]);
    const env = parseConnectionsFile('# mine\n\nA=aws://k:v@/?region_name=us-east-1\nB={"conn_type": "http", "host": "h"}\n', 'env', 'c.env');
    expect(env.map((c) => [c.conn_id, c.conn_type, c.login, c.extra ?? c.host])).toEqual([
      ['A', 'aws', 'k', '{"region_name":"us-east-1"}'],
      ['B', 'http', null, 'h'],
    ]);
  });

  it('says what to fix, naming the file, line or id, and never echoes a value', () => {
    const bad: Array<[string, 'json' | 'yaml' | 'env', RegExp]> = [
      [`{"x": {"conn_type": "aws", "password": "${SECRET}", "pasword": 1}}`, 'json', /c\.json: connection 'x' has unknown fields pasword/],
      [`{"x": {"conn_type": "aws", "password": "${SECRET}"`, 'json', /c\.json is not valid JSON/],
      [`x:\n  conn_type: aws\n  password: ${SECRET}\n  port: eighty\n`, 'yaml', /connection 'x' port must be a number/],
      [`ok=aws://a:b@/\nno equals sign ${SECRET}\n`, 'env', /c\.env:2: expected CONN_ID=URI/],
      [`ok=aws://a:b@/\nbroken line ${SECRET}=x\n`, 'env', /c\.env:2: the connection id is not one/],
      [`{"ok": "aws://a:b@/", "${SECRET}": "aws://x"}`, 'json', /c\.json: the 2nd connection: the connection id is not one/],
      [`x={"conn_type": "aws", "password": "${SECRET}"\n`, 'env', /c\.env:1: connection 'x' is not valid JSON/],
      ['x:\n  host: h\n', 'yaml', /connection 'x' .*conn_type: is required/],
      ['[1, 2]', 'json', /must hold an object of connections by id/],
      ['{"x": [{"conn_type": "a"}, {"conn_type": "b"}]}', 'json', /connection 'x' is given 2 times/],
    ];
    for (const [text, format, message] of bad) {
      let error: Error | undefined;
      try {
        parseConnectionsFile(text, format, `c.${format}`);
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message, text).toMatch(message);
      expect(error).toMatchObject({ code: 'INVALID_INPUT' });
      expect(error?.message).not.toContain(SECRET);
    }
  });
});
