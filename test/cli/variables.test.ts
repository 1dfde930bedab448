import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCliHarness, type CliHarness } from './cli-harness.ts';

let h: CliHarness;
beforeAll(async () => {
  h = await createCliHarness('variables');
});
afterAll(async () => {
  await h?.close();
});

describe('deferflow variables', { timeout: 90_000 }, () => {
  it('sets, gets (raw and --json), lists and deletes a variable', async () => {
    expect((await h.run(['variables', 'set', 's3_bucket', 'my-bucket'])).stdout.trim()).toBe('Variable s3_bucket created');
    expect((await h.run(['variables', 'set', 'cfg', '{"epochs": 3, "lr": 0.1}', '--json'])).code).toBe(0);

    expect((await h.run(['variables', 'get', 's3_bucket'])).stdout.trim()).toBe('my-bucket');
    expect(await h.json(['variables', 'get', 'cfg', '--json'])).toEqual({ cfg: { epochs: 3, lr: 0.1 } });
    // Stored as its JSON text, as Airflow does.
    expect((await h.run(['variables', 'get', 'cfg'])).stdout.trim()).toBe('{"epochs":3,"lr":0.1}');

    const list = await h.json<Array<{ key: string }>>(['variables', 'list']);
    expect(list.map((v) => v.key)).toEqual(['cfg', 's3_bucket']);

    expect((await h.run(['variables', 'delete', 's3_bucket'])).stdout.trim()).toBe('Variable s3_bucket deleted');
    const missing = await h.run(['variables', 'get', 's3_bucket']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Error [VARIABLE_NOT_FOUND]: Variable s3_bucket does not exist');
    expect(missing.stderr).toContain('Hint:');
    expect((await h.run(['variables', 'get', 's3_bucket', '--default', 'fallback'])).stdout.trim()).toBe('fallback');
  });

  it('keeps a description unless --description says otherwise (also through import)', async () => {
    expect((await h.run(['variables', 'set', 'role', 'arn:1', '--description', 'SageMaker execution role'])).code).toBe(0);
    expect((await h.run(['variables', 'set', 'role', 'arn:2'])).code).toBe(0);
    const listed = async () => (await h.json<Array<{ key: string; description: string | null }>>(['variables', 'list'])).find((v) => v.key === 'role');
    expect(await listed()).toEqual({ key: 'role', description: 'SageMaker execution role' });
    expect((await h.run(['variables', 'get', 'role'])).stdout.trim()).toBe('arn:2');
    const file = join(h.home, 'role.json');
    await writeFile(file, JSON.stringify({ role: 'arn:3' }));
    expect((await h.run(['variables', 'import', file])).code).toBe(0);
    expect(await listed()).toEqual({ key: 'role', description: 'SageMaker execution role' });
    expect((await h.run(['variables', 'set', 'role', 'arn:4', '--description', 'the new role'])).code).toBe(0);
    expect(await listed()).toEqual({ key: 'role', description: 'the new role' });
    expect((await h.run(['variables', 'set', 'role', 'arn:5', '--description', ''])).code).toBe(0);
    expect(await listed()).toEqual({ key: 'role', description: null });
    expect((await h.run(['variables', 'delete', 'role'])).code).toBe(0);
  });

  it('exports and imports a JSON file, keeping JSON values structured', async () => {
    await h.run(['variables', 'set', 'plain', 'text']);
    const file = join(h.home, 'vars.json');
    expect((await h.run(['variables', 'export', file])).code).toBe(0);
    const exported = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(exported).toMatchObject({ cfg: { epochs: 3, lr: 0.1 }, plain: 'text' });

    await writeFile(file, JSON.stringify({ plain: 'changed', fresh: { a: [1, 2] } }));
    const skip = await h.run(['variables', 'import', file, '-a', 'skip']);
    expect(skip.stdout).toContain('1 of 2 variables successfully updated');
    expect((await h.run(['variables', 'get', 'plain'])).stdout.trim()).toBe('text');
    expect(await h.json(['variables', 'get', 'fresh', '--json'])).toEqual({ fresh: { a: [1, 2] } });

    const fail = await h.run(['variables', 'import', file, '--action-on-existing-key', 'fail']);
    expect(fail.code).not.toBe(0);
    expect(fail.stderr).toMatch(/already exist: .*plain/);
  });

  it('rejects bad input with a message that says what to fix', async () => {
    const badJson = await h.run(['variables', 'set', 'x', '{not json', '--json']);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain('VALUE is not valid JSON');
    expect(badJson.stderr).toContain('Hint:');

    const badChoice = await h.run(['variables', 'import', 'f.json', '-a', 'explode']);
    expect(badChoice.code).toBe(2);
    expect(badChoice.stderr).toMatch(/Allowed choices are overwrite, fail, skip/);

    const missingArg = await h.run(['variables', 'set', 'only_key']);
    expect(missingArg.code).toBe(2);
    expect(missingArg.stderr).toContain("missing required argument 'value'");
  });
});
