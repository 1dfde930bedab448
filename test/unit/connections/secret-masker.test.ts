import { describe, expect, it } from 'vitest';
import { isSensitiveKey, SecretMasker, registerSecret, maskSecrets } from '../../../src/connections/secret-masker.ts';
import { maskSecrets as logMask } from '../../../src/log/secret-masker.ts';
import { maskConnection } from '../../../src/connections/connection-repository.ts';

describe('SecretMasker', () => {
  it('masks learned secrets, their URL-encoded and JSON-escaped forms, longest first', () => {
    const m = new SecretMasker();
    m.add('abc/def+ghi');
    m.add('abc/def+ghi-and-more');
    m.add('quo"te\\d');
    expect(m.mask('k=abc/def+ghi-and-more v=abc/def+ghi')).toBe('k=*** v=***');
    expect(m.mask('uri aws://k:abc%2Fdef%2Bghi@/')).toBe('uri aws://k:***@/');
    expect(m.mask(JSON.stringify({ p: 'quo"te\\d' }))).toBe('{"p":"***"}');
  });

  it('ignores values shorter than 5 characters (Airflow min_length_masked_secret)', () => {
    const m = new SecretMasker();
    m.add('abcd');
    m.add(42);
    expect(m.mask('abcd 42')).toBe('abcd 42');
  });

  it('learns only sensitive extra keys, recursively', () => {
    const m = new SecretMasker();
    m.addSensitiveValues({
      region_name: 'us-east-1',
      aws_session_token: 'FQoGZXIvYXdzEJr',
      aws_access_key_id: 'AKIAIOSFODNN7',
      nested: { api_key: 'k-123456', list: [{ private_key: 'PRIVATEKEY1' }] },
      credentials: { user: 'someone-x' },
    });
    const out = m.mask('us-east-1 FQoGZXIvYXdzEJr AKIAIOSFODNN7 k-123456 PRIVATEKEY1 someone-x');
    expect(out).toBe('us-east-1 *** AKIAIOSFODNN7 *** *** ***');
  });

  it('classifies sensitive names like Airflow', () => {
    for (const k of [
      'password',
      'aws_secret_access_key',
      'aws_session_token',
      'api_key',
      'apiKey',
      'secret_key',
      'private-key',
      'key',
      'passphrase',
      'credential_json',
      'access_token',
    ]) {
      expect(isSensitiveKey(k), k).toBe(true);
    }
    for (const k of ['region_name', 'aws_access_key_id', 'role_arn', 'endpoint_url', 'keep_alive', 'host']) {
      expect(isSensitiveKey(k), k).toBe(false);
    }
  });

  it('redacts structures for API/CLI output', () => {
    const m = new SecretMasker();
    expect(m.redact({ password: 'x', n: 1, nested: { token: 5, ok: 'fine' }, a: [{ secret: { deep: 'y' } }] })).toEqual({
      password: '***',
      n: 1,
      nested: { token: '***', ok: 'fine' },
      a: [{ secret: { deep: '***' } }],
    });
    const masked = maskConnection(
      {
        conn_id: 'c',
        conn_type: 'aws',
        description: null,
        host: null,
        schema: null,
        login: 'AKIA',
        password: 'pw-12345',
        port: null,
        extra: '{"region_name":"r","aws_session_token":"tok"}',
      },
      m,
    );
    expect(masked.password).toBe('***');
    expect(JSON.parse(masked.extra!)).toEqual({ region_name: 'r', aws_session_token: '***' });
  });

  it('is installed into the log module on import', () => {
    registerSecret('global-secret-value-1');
    expect(maskSecrets('x global-secret-value-1 y')).toBe('x *** y');
    expect(logMask('log line global-secret-value-1')).toBe('log line ***');
  });
});
