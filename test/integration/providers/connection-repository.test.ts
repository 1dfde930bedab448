import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../../src/store/store.ts';
import { ConnectionRepository } from '../../../src/connections/connection-repository.ts';
import { connectionLookup } from '../../../src/connections/connection-lookup.ts';
import { SecretCipher } from '../../../src/connections/secret-cipher.ts';
import { parseConnectionUri } from '../../../src/connections/connection-uri.ts';
import { maskSecrets } from '../../../src/connections/secret-masker.ts';
import { DeferflowError } from '../../../src/errors/deferflow-error.ts';

const uri = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017';
const dbName = `deferflow_test_connrepo_${randomBytes(4).toString('hex')}`;
let store: Store;

beforeAll(async () => {
  store = await Store.connect({ uri, dbName });
});
afterAll(async () => {
  await store.dropDatabase();
  await store.close();
});

describe('ConnectionRepository on FerretDB', () => {
  const key = randomBytes(32);
  const env: NodeJS.ProcessEnv = {};
  const repo = () => new ConnectionRepository(store, { cipher: new SecretCipher(key), env });

  it('stores password and extra encrypted, returns them decrypted, and rejects duplicates', async () => {
    const r = repo();
    await r.add({ conn_id: 'aws_enc', ...parseConnectionUri('aws://AKIAXX:wJalrXUtn%2FSECRET@/?region_name=eu-west-1&aws_session_token=FQoGZXIvSESSION') });
    const raw = await store.connections.findOne({ _id: 'aws_enc' });
    expect(raw!.password).toMatch(/^enc:v1:/);
    expect(raw!.extra).toMatch(/^enc:v1:/);
    expect(JSON.stringify(raw)).not.toContain('SECRET');
    expect(JSON.stringify(raw)).not.toContain('eu-west-1');
    const got = await r.get('aws_enc');
    expect(got).toMatchObject({ conn_type: 'aws', login: 'AKIAXX', password: 'wJalrXUtn/SECRET' });
    expect(JSON.parse(got.extra!)).toEqual({ region_name: 'eu-west-1', aws_session_token: 'FQoGZXIvSESSION' });
    await expect(r.add({ conn_id: 'aws_enc', conn_type: 'aws' })).rejects.toMatchObject({ code: 'CONNECTION_EXISTS' });
    // Reading taught the global masker.
    expect(maskSecrets('key wJalrXUtn/SECRET token FQoGZXIvSESSION region eu-west-1')).toBe('key *** token *** region eu-west-1');
  });

  it('lists with secrets masked, upserts, deletes', async () => {
    const r = repo();
    await r.upsert({
      conn_id: 'pg',
      conn_type: 'postgres',
      host: 'db',
      login: 'u',
      password: 'hunter22',
      port: 5432,
      extra: { sslmode: 'require', api_key: 'k-123' },
    });
    await r.upsert({ conn_id: 'pg', conn_type: 'postgres', host: 'db2', login: 'u', password: 'hunter23' });
    const list = await r.list();
    const pg = list.find((c) => c.conn_id === 'pg')!;
    expect(pg).toMatchObject({ host: 'db2', password: '***', source: 'store', extra: null });
    const enc = list.find((c) => c.conn_id === 'aws_enc')!;
    expect(JSON.parse(enc.extra!)).toEqual({ region_name: 'eu-west-1', aws_session_token: '***' });
    await r.delete('pg');
    expect(await r.find('pg')).toBeNull();
    await expect(r.delete('pg')).rejects.toMatchObject({ code: 'CONNECTION_NOT_FOUND' });
    await expect(r.get('nope')).rejects.toThrow(/The conn_id 'nope' isn't defined/);
  });

  it('fails clearly with a different secret key', async () => {
    const other = new ConnectionRepository(store, { cipher: new SecretCipher(randomBytes(32)), env });
    const err = await other.get('aws_enc').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeferflowError);
    expect((err as DeferflowError).code).toBe('SECRET_KEY_ERROR');
    expect((err as Error).message).toContain("connection 'aws_enc'");
  });

  it('DEFERFLOW_CONN_<ID> (URI or JSON) wins over the store; the lookup is synchronous', async () => {
    const envRepo = new ConnectionRepository(store, {
      cipher: new SecretCipher(key),
      env: {
        DEFERFLOW_CONN_AWS_ENC: 'aws://ENVKEY:envsecret-1@/?region_name=us-west-2',
        DEFERFLOW_CONN_MY_HTTP: JSON.stringify({ conn_type: 'http', host: 'example.com', extra: { timeout: 5 } }),
      },
    });
    expect(await envRepo.get('aws_enc')).toMatchObject({ login: 'ENVKEY', password: 'envsecret-1' });
    expect(await envRepo.get('my-http')).toMatchObject({ conn_type: 'http', host: 'example.com', extra: '{"timeout":5}' });
    const lookup = await connectionLookup(envRepo, {
      DEFERFLOW_CONN_AWS_ENC: 'aws://ENVKEY:envsecret-1@/?region_name=us-west-2',
      DEFERFLOW_CONN_MY_HTTP: JSON.stringify({ conn_type: 'http', host: 'example.com', extra: { timeout: 5 } }),
    });
    expect(lookup.get('aws_enc')).toMatchObject({ login: 'ENVKEY', extra_dejson: { region_name: 'us-west-2' } });
    expect(lookup.get('my-http')).toMatchObject({ conn_id: 'my-http', host: 'example.com', extra_dejson: { timeout: 5 } });
    expect(lookup.get('missing')).toBeUndefined();
    expect(lookup.ids()).toEqual(expect.arrayContaining(['aws_enc', 'my_http']));
    expect(maskSecrets('envsecret-1')).toBe('***');
  });
});
