/**
 * AES-256-GCM for secrets at rest (connection passwords and extras). Envelope:
 *   enc:v1:<iv base64>:<auth tag base64>:<ciphertext base64>
 * GCM authenticates, so a wrong key is detected (SECRET_KEY_ERROR) instead of yielding garbage.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DeferflowError } from '../errors/deferflow-error.ts';
import { loadSecretKey, SECRET_KEY_ENV, type SecretKey } from './secret-key.ts';

const PREFIX = 'enc:v1:';

export class SecretCipher {
  private resolved: SecretKey | null;

  /** Without a key, it is loaded (or generated) on first use from the environment / config dir. */
  constructor(
    key?: Buffer | SecretKey,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    if (key === undefined) this.resolved = null;
    else if (Buffer.isBuffer(key)) this.resolved = { key, source: 'the provided key' };
    else this.resolved = key;
    if (this.resolved && this.resolved.key.length !== 32) {
      throw new DeferflowError('SECRET_KEY_ERROR', `AES-256 needs a 32-byte key, got ${this.resolved.key.length} bytes`);
    }
  }

  static isEncrypted(value: string): boolean {
    return value.startsWith(PREFIX);
  }

  encrypt(plaintext: string): string {
    const { key } = this.secretKey();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${PREFIX}${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${ct.toString('base64')}`;
  }

  /** Plain (un-enveloped) values pass through: rows written by hand or before encryption existed. */
  decrypt(value: string, what = 'a secret'): string {
    if (!SecretCipher.isEncrypted(value)) return value;
    const parts = value.slice(PREFIX.length).split(':');
    if (parts.length !== 3) {
      throw new DeferflowError('SECRET_KEY_ERROR', `Cannot decrypt ${what}: malformed encrypted value`);
    }
    const { key, source } = this.secretKey();
    try {
      const [iv, tag, ct] = parts.map((p) => Buffer.from(p, 'base64'));
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
    } catch (e) {
      throw new DeferflowError('SECRET_KEY_ERROR', `Cannot decrypt ${what} with the secret key from ${source}: it was encrypted with a different key`, {
        cause: e,
        hint: `Set ${SECRET_KEY_ENV} to the key used when it was stored (or re-add the connection)`,
      });
    }
  }

  private secretKey(): SecretKey {
    if (!this.resolved) this.resolved = loadSecretKey(this.env);
    return this.resolved;
  }
}
