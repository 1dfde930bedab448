/**
 * `deferflow connections export FILE|-` and `connections import FILE [--overwrite]` from the real
 * executable, in Airflow's json, yaml and env formats: secrets in clear only in the file asked
 * for (readable by its owner only) and encrypted again at rest after import.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from './cli-harness.ts';

const SECRET = 'exp0rt-Secret/+=';
let h: CliHarness;
beforeAll(async () => {
  h = await createCliHarness('conntransfer');
  for (const args of [
    [
      'connections',
      'add',
      'aws_main',
      '--conn-type',
      'aws',
      '--conn-login',
      'AKIAMAIN',
      '--conn-password',
      SECRET,
      '--conn-extra',
      '{"region_name": "eu-west-1"}',
    ],
    ['connections', 'add', 'pg', '--conn-uri', 'postgres://etl:pw@db.internal:5432/warehouse', '--conn-description', 'the warehouse'],
  ]) {
    const r = await h.run(args);
    if (r.code !== 0) throw new Error(r.stderr);
  }
});
afterAll(async () => {
  await h?.close();
});

describe('deferflow connections export / import', { timeout: 120_000 }, () => {
  it("exports Airflow's formats with secrets only in the file, readable by its owner only", async () => {
    const jsonFile = join(h.home, 'conns.json');
    const r = await h.run(['connections', 'export', jsonFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`Connections successfully exported to ${jsonFile}.`);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    expect((await stat(jsonFile)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(jsonFile, 'utf8'))).toEqual({
      aws_main: {
        conn_type: 'aws',
        description: null,
        login: 'AKIAMAIN',
        password: SECRET,
        host: null,
        port: null,
        schema: null,
        extra: '{"region_name": "eu-west-1"}',
      },
      pg: {
        conn_type: 'postgres',
        description: 'the warehouse',
        login: 'etl',
        password: 'pw',
        host: 'db.internal',
        port: 5432,
        schema: 'warehouse',
        extra: null,
      },
    });

    const yamlFile = join(h.home, 'conns.yaml');
    expect((await h.run(['connections', 'export', yamlFile])).code).toBe(0);
    expect(parseYaml(await readFile(yamlFile, 'utf8'))).toMatchObject({ aws_main: { password: SECRET }, pg: { port: 5432 } });

    const envFile = join(h.home, 'conns.env');
    expect((await h.run(['connections', 'export', envFile])).code).toBe(0);
    expect((await readFile(envFile, 'utf8')).split('\n')).toContain('pg=postgres://etl:pw@db.internal:5432/warehouse');
    const envJson = join(h.home, 'conns-json.env');
    expect((await h.run(['connections', 'export', envJson, '--serialization-format', 'json'])).code).toBe(0);
    expect((await readFile(envJson, 'utf8')).split('\n')[1]).toMatch(/^pg=\{"conn_type":"postgres",/);

    // `-`: the file is stdout, nothing else on it.
    const stdout = await h.run(['connections', 'export', '-', '--file-format', 'yaml']);
    expect(stdout.code, stdout.stderr).toBe(0);
    expect(parseYaml(stdout.stdout)).toMatchObject({ aws_main: { login: 'AKIAMAIN' } });
  });

  it('imports: existing ids skipped unless --overwrite, secrets encrypted again at rest', async () => {
    const file = join(h.home, 'import.json');
    await writeFile(
      file,
      JSON.stringify({
        pg: { conn_type: 'postgres', host: 'new-host', login: 'etl', password: 'new-pw' },
        fresh: 'http://svc:fresh-Secret-42@api.example.com:8443/v1',
      }),
    );
    const first = await h.run(['connections', 'import', file]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim().split('\n')).toEqual(['Could not import connection pg: connection already exists.', 'Imported connection fresh']);
    expect(first.stderr).toContain('pass --overwrite to replace them');
    expect(await h.json(['connections', 'get', 'pg'])).toMatchObject({ host: 'db.internal' });
    expect(await h.json(['connections', 'get', 'fresh'])).toMatchObject({
      conn_type: 'http',
      host: 'api.example.com',
      port: 8443,
      login: 'svc',
      password: '***',
    });
    const doc = await h.client
      .db(h.dbName)
      .collection('connections')
      .findOne({ _id: 'fresh' as never });
    expect(String(doc?.password)).not.toContain('fresh-Secret-42');

    const over = await h.json<{ imported: string[]; skipped: string[] }>(['connections', 'import', file, '--overwrite']);
    expect(over).toEqual({ imported: ['pg', 'fresh'], skipped: [] });
    expect(await h.json(['connections', 'get', 'pg'])).toMatchObject({ host: 'new-host' });

    // An exported file imports back as it was.
    const envFile = join(h.home, 'conns.env');
    const back = await h.run(['connections', 'import', envFile, '--overwrite']);
    expect(back.stdout).toContain('Imported connection aws_main');
    expect(await h.json(['connections', 'get', 'pg'])).toMatchObject({ host: 'db.internal' });
  });

  it('says what to fix, and never echoes a secret from a bad file', async () => {
    const noExt = await h.run(['connections', 'import', join(h.home, 'conns.txt')]);
    expect(noExt.code).toBe(2);
    expect(noExt.stderr).toContain('name it .json, .yaml, .yml or .env');
    const missing = await h.run(['connections', 'import', join(h.home, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
    const bad = join(h.home, 'bad.env');
    await writeFile(bad, `ok=aws://a:b@/\nbroken line with ${SECRET}\n`);
    const badLine = await h.run(['connections', 'import', bad]);
    expect(badLine.code).toBe(2);
    expect(badLine.stderr).toContain(`${bad}:2: the connection id is not one`);
    expect(badLine.stderr).not.toContain(SECRET);
    // Nothing of a bad file is imported.
    expect((await h.run(['connections', 'get', 'ok'])).code).toBe(1);

    const badFormat = await h.run(['connections', 'export', join(h.home, 'x.json'), '--file-format', 'xml']);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toContain('--file-format: must be one of json, yaml, env');
    const noFormat = await h.run(['connections', 'export', join(h.home, 'x.txt')]);
    expect(noFormat.code).toBe(2);
    expect(noFormat.stderr).toContain('or give --file-format json|yaml|env');
    const serialization = await h.run(['connections', 'export', join(h.home, 'x.json'), '--serialization-format', 'json']);
    expect(serialization.code).toBe(2);
    expect(serialization.stderr).toContain('--serialization-format: applies to env files only');
  });
});
