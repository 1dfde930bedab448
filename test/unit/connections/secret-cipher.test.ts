import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretCipher } from '../../../src/connections/secret-cipher.ts';
import { loadSecretKey } from '../../../src/connections/secret-key.ts';
import { DeferflowError } from '../../../src/errors/deferflow-error.ts';

describe('SecretCipher (AES-256-GCM)', () => {
  it('round-trips and uses a fresh IV each time', () => {
    const c = new SecretCipher(randomBytes(32));
    const a = c.encrypt('pässwörd/with:colons');
    const b = c.encrypt('pässwörd/with:colons');
    expect(a).toMatch(/^enc:v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('pässwörd');
    expect(c.decrypt(a)).toBe('pässwörd/with:colons');
    expect(c.decrypt(c.encrypt(''))).toBe('');
  });

  it('fails with SECRET_KEY_ERROR under a different key', () => {
    const enc = new SecretCipher(randomBytes(32)).encrypt('x');
    const other = new SecretCipher(randomBytes(32));
    let err: unknown;
    try {
      other.decrypt(enc, "the password of connection 'c'");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DeferflowError);
    expect((err as DeferflowError).code).toBe('SECRET_KEY_ERROR');
    expect((err as Error).message).toMatch(/connection 'c'.*different key/);
  });

  it('detects tampering and malformed envelopes', () => {
    const c = new SecretCipher(randomBytes(32));
    const enc = c.encrypt('hello');
    const parts = enc.split(':');
    parts[4] = Buffer.from('HELLO').toString('base64');
    expect(() => c.decrypt(parts.join(':'))).toThrow(/different key/);
    expect(() => c.decrypt('enc:v1:abc')).toThrow(/malformed/);
  });

  it('passes plaintext (legacy, un-enveloped) values through', () => {
    expect(new SecretCipher(randomBytes(32)).decrypt('plain')).toBe('plain');
  });
});

describe('secret key loading', () => {
  it('accepts base64 and hex keys from DEFERFLOW_SECRET_KEY and rejects wrong lengths', () => {
    const key = randomBytes(32);
    expect(loadSecretKey({ DEFERFLOW_SECRET_KEY: key.toString('base64') }).key.equals(key)).toBe(true);
    expect(loadSecretKey({ DEFERFLOW_SECRET_KEY: key.toString('hex') }).key.equals(key)).toBe(true);
    expect(() => loadSecretKey({ DEFERFLOW_SECRET_KEY: randomBytes(16).toString('base64') })).toThrow(/not 32 bytes/);
  });

  it('generates secret.key with mode 0600 in DEFERFLOW_HOME once and reuses it', () => {
    const home = join(mkdtempSync(join(tmpdir(), 'deferflow-key-')), 'nested');
    const env = { DEFERFLOW_HOME: home };
    const first = loadSecretKey(env);
    const file = join(home, 'secret.key');
    expect(first.source).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadSecretKey(env).key.equals(first.key)).toBe(true);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').equals(first.key)).toBe(true);
    // A cipher built on that env decrypts what another built on the same env encrypted.
    const enc = new SecretCipher(undefined, env).encrypt('s3cret!');
    expect(new SecretCipher(undefined, env).decrypt(enc)).toBe('s3cret!');
  });
});
