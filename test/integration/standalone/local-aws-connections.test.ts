import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../../src/store/store.ts';
import { ConnectionRepository } from '../../../src/connections/connection-repository.ts';
import { SecretCipher } from '../../../src/connections/secret-cipher.ts';
import { extraDejson } from '../../../src/connections/connection.ts';
import { ensureLocalAwsConnections } from '../../../src/standalone/local-aws-connections.ts';
import { ensureDemoVariables, DEMO_BUCKET, DEMO_ROLE_ARN } from '../../../src/standalone/demo-data.ts';
import { VariableRepository } from '../../../src/store/repositories/variable-repository.ts';

const uri = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017';
const dbName = `deferflow_test_standalone_conns_${randomBytes(4).toString('hex')}`;
let store: Store;
let repo: ConnectionRepository;

beforeAll(async () => {
  store = await Store.connect({ uri, dbName });
  repo = new ConnectionRepository(store, { cipher: new SecretCipher(randomBytes(32)), env: {} });
});
afterAll(async () => {
  await store.dropDatabase();
  await store.close();
});

describe('seed connections and variables for the local AWS', () => {
  it("creates missing connections, re-points its own, and never touches the user's", async () => {
    await repo.add({ conn_id: 'aws-sagemaker', conn_type: 'aws', login: 'MINE', password: 'mine-secret', extra: { region_name: 'eu-west-1' } });
    expect(await ensureLocalAwsConnections(store, 'http://127.0.0.1:1111', 'us-east-1', undefined, repo)).toEqual({
      aws_default: 'created',
      'aws-sagemaker': 'kept',
    });
    const made = await repo.get('aws_default');
    expect(made).toMatchObject({ conn_type: 'aws', login: 'test', password: 'test' });
    expect(extraDejson(made)).toEqual({ endpoint_url: 'http://127.0.0.1:1111', region_name: 'us-east-1' });

    // A restarted stack listens elsewhere: its own connection follows, the user's stays.
    expect(await ensureLocalAwsConnections(store, 'http://127.0.0.1:2222', 'us-east-1', undefined, repo)).toEqual({
      aws_default: 'updated',
      'aws-sagemaker': 'kept',
    });
    expect(extraDejson(await repo.get('aws_default')).endpoint_url).toBe('http://127.0.0.1:2222');
    expect(await repo.get('aws-sagemaker')).toMatchObject({ login: 'MINE', password: 'mine-secret' });
  });

  it('sets the demo variables only where unset', async () => {
    const vars = new VariableRepository(store);
    await vars.set('role', 'arn:aws:iam::123456789012:role/Mine');
    expect(await ensureDemoVariables(store)).toEqual(['s3_bucket']);
    expect(await vars.get('s3_bucket')).toBe(DEMO_BUCKET);
    expect(await vars.get('role')).toBe('arn:aws:iam::123456789012:role/Mine');
    expect(await ensureDemoVariables(store)).toEqual([]);
    expect(DEMO_ROLE_ARN).toMatch(/^arn:aws:iam::\d{12}:role\//);
  });
});
