import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from './cli-harness.ts';

let h: CliHarness;
beforeAll(async () => {
  h = await createCliHarness('connections');
});
afterAll(async () => {
  await h?.close();
});

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const MANAGED = 'Managed by deferflow standalone: the embedded local AWS';

describe('deferflow connections', { timeout: 90_000 }, () => {
  it('adds from flags and from a URI, and never prints the secrets', async () => {
    const fromFlags = await h.run([
      'connections',
      'add',
      'pg_main',
      '--conn-type',
      'postgres',
      '--conn-host',
      'db.internal',
      '--conn-login',
      'etl',
      '--conn-password',
      'hunter2-secret',
      '--conn-schema',
      'warehouse',
      '--conn-port',
      '5432',
      '--conn-extra',
      '{"sslmode": "require", "api_token": "tok-123456"}',
    ]);
    expect(fromFlags.code, fromFlags.stderr).toBe(0);
    expect(fromFlags.stdout).toContain('Successfully added `conn_id`=pg_main');
    expect(fromFlags.stdout).not.toContain('hunter2-secret');
    expect(fromFlags.stdout).not.toContain('tok-123456');

    const uri = `aws://AKIAEXAMPLE:${encodeURIComponent(SECRET)}@/?region_name=us-east-1`;
    const fromUri = await h.run(['connections', 'add', 'aws_default', '--conn-uri', uri]);
    expect(fromUri.code, fromUri.stderr).toBe(0);
    expect(fromUri.stdout).not.toContain('wJalrXUtnFEMI');

    const list = await h.json<Array<Record<string, unknown>>>(['connections', 'list']);
    expect(list.map((c) => c.conn_id)).toEqual(['aws_default', 'pg_main']);
    const pg = list.find((c) => c.conn_id === 'pg_main')!;
    expect(pg).toMatchObject({ conn_type: 'postgres', host: 'db.internal', login: 'etl', schema: 'warehouse', port: 5432, password: '***' });
    expect(JSON.parse(String(pg.extra))).toEqual({ sslmode: 'require', api_token: '***' });
    const aws = list.find((c) => c.conn_id === 'aws_default')!;
    expect(aws).toMatchObject({ conn_type: 'aws', login: 'AKIAEXAMPLE', password: '***' });
    expect(JSON.parse(String(aws.extra))).toEqual({ region_name: 'us-east-1' });

    for (const format of ['table', 'plain']) {
      const out = await h.run(['connections', 'list', '--output', format]);
      expect(out.code).toBe(0);
      expect(out.stdout).toContain('pg_main');
      expect(out.stdout).not.toContain('hunter2-secret');
      expect(out.stdout).not.toContain('wJalrXUtnFEMI');
      expect(out.stdout).not.toContain('tok-123456');
    }
    const get = await h.run(['connections', 'get', 'aws_default']);
    expect(get.stdout).toContain('aws_default');
    expect(get.stdout).not.toContain('wJalrXUtnFEMI');

    // At rest the password is encrypted, not the plain text.
    const doc = await h.client
      .db(h.dbName)
      .collection('connections')
      .findOne({ _id: 'pg_main' as never });
    expect(String(doc?.password)).not.toContain('hunter2-secret');
  });

  it('refuses a duplicate id and deletes', async () => {
    const dup = await h.run(['connections', 'add', 'pg_main', '--conn-type', 'postgres']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('Error [CONNECTION_EXISTS]: A connection with `conn_id`=pg_main already exists.');
    // The hint names a command the CLI has.
    expect(dup.stderr).toContain('Hint: To replace it, delete it first (`deferflow connections delete pg_main`), then add it again.');
    expect((await h.run(['connections', 'delete', 'pg_main'])).stdout).toContain('Successfully deleted connection with `conn_id`=pg_main');
    const again = await h.run(['connections', 'get', 'pg_main']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('CONNECTION_NOT_FOUND');
  });

  it("replaces a connection `deferflow standalone` made for its local AWS, and from then on it is the user's", async () => {
    // What standalone leaves: its mark in the description (src/connections/managed-connections.ts).
    const made = await h.run([
      'connections',
      'add',
      'aws-sagemaker',
      '--conn-uri',
      'aws://test:test@/?endpoint_url=http%3A%2F%2F127.0.0.1%3A1',
      '--conn-description',
      MANAGED,
    ]);
    expect(made.code, made.stderr).toBe(0);
    const taken = await h.run(['connections', 'add', 'aws-sagemaker', '--conn-type', 'aws', '--conn-login', 'AKIAMINE', '--conn-password', 'mine-secret']);
    expect(taken.code, taken.stderr).toBe(0);
    expect(taken.stdout).toContain('Successfully added `conn_id`=aws-sagemaker');
    expect(taken.stdout).toContain('it replaced the one deferflow standalone had made for its local AWS');
    expect(taken.stdout).not.toContain('mine-secret');
    expect(await h.json(['connections', 'get', 'aws-sagemaker'])).toMatchObject({ login: 'AKIAMINE', description: null, password: '***' });
    // Now it is the user's: adding it again is refused like any other.
    const again = await h.run(['connections', 'add', 'aws-sagemaker', '--conn-type', 'aws']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('CONNECTION_EXISTS');
  });

  it('says what to fix for invalid input', async () => {
    const neither = await h.run(['connections', 'add', 'x']);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('--conn-type: give either --conn-uri or --conn-type');

    const badPort = await h.run(['connections', 'add', 'x', '--conn-type', 'http', '--conn-port', 'eighty']);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain('--conn-port: must be a port number');

    const badExtra = await h.run(['connections', 'add', 'x', '--conn-type', 'http', '--conn-extra', '[1,2]']);
    expect(badExtra.code).toBe(2);
    expect(badExtra.stderr).toContain('--conn-extra: must be a JSON object');

    const json = await h.run(['connections', 'add', 'bad id!', '--conn-type', 'http', '--output', 'json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'INVALID_INPUT', message: expect.stringContaining('CONN_ID') } });
  });
});
