/**
 * Where the 32-byte key that encrypts connection secrets comes from:
 *  1. DEFERFLOW_SECRET_KEY (base64 or hex of exactly 32 bytes) — what multi-machine deployments set;
 *  2. else `<DEFERFLOW_HOME or ~/.deferflow>/secret.key`, generated on first use with mode 0600.
 * Generation uses an exclusive create, so two processes starting at once agree on one key.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DeferflowError } from '../errors/deferflow-error.ts';

export const SECRET_KEY_ENV = 'DEFERFLOW_SECRET_KEY';

export interface SecretKey {
  key: Buffer;
  /** Human description of where it came from, for error messages (never the key itself). */
  source: string;
}

export function deferflowHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.DEFERFLOW_HOME || join(homedir(), '.deferflow');
}

/** Decode a key given as base64 (std or url-safe) or hex; must be exactly 32 bytes. */
export function decodeSecretKey(text: string, source: string): Buffer {
  const t = text.trim();
  let key: Buffer | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) key = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key?.length !== 32) {
    throw new DeferflowError('SECRET_KEY_ERROR', `The secret key from ${source} is not 32 bytes of base64 or hex`, {
      hint: "Generate one with: node -e \"console.log(require('crypto').randomBytes(32).toString('base64'))\"",
    });
  }
  return key;
}

export function loadSecretKey(env: NodeJS.ProcessEnv = process.env): SecretKey {
  const fromEnv = env[SECRET_KEY_ENV];
  if (fromEnv?.trim()) {
    return { key: decodeSecretKey(fromEnv, SECRET_KEY_ENV), source: SECRET_KEY_ENV };
  }
  const dir = deferflowHome(env);
  const file = join(dir, 'secret.key');
  const existing = readKeyFile(file);
  if (existing !== null) return { key: decodeSecretKey(existing, file), source: file };
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
    // umask may have widened it; the key must stay readable by its owner only.
    chmodSync(file, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new DeferflowError('SECRET_KEY_ERROR', `Could not create the secret key file ${file}: ${(e as Error).message}`, {
        cause: e,
        hint: `Set ${SECRET_KEY_ENV} or DEFERFLOW_HOME to a writable directory`,
      });
    }
  }
  const created = readKeyFile(file);
  if (created === null) throw new DeferflowError('SECRET_KEY_ERROR', `Secret key file ${file} disappeared while being created`);
  return { key: decodeSecretKey(created, file), source: file };
}

function readKeyFile(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DeferflowError('SECRET_KEY_ERROR', `Could not read the secret key file ${file}: ${(e as Error).message}`, { cause: e });
  }
}
