/**
 * Learns secret values (connection passwords, AWS secret keys and session tokens, extras whose key
 * looks sensitive) and replaces them with `***` in any text — Airflow's SecretsMasker. One
 * process-wide instance, which installs itself into the log module's hook when it learns its first
 * secret (not when this module loads: importing changes nothing), so task logs, CLI output and API
 * responses never show a secret that passed through a connection.
 */
import { setSecretMasker } from '../log/secret-masker.ts';

export const MASK = '***';

/**
 * Airflow's DEFAULT_SENSITIVE_FIELDS plus the names the AWS connection uses. A key is sensitive
 * when its lower-cased name contains one of these, or its last word is `key` (`secret_key`,
 * `private-key`, `apiKey`) — but not `aws_access_key_id`, which AWS itself treats as public.
 */
export const SENSITIVE_NAME_PARTS = [
  'password',
  'passwd',
  'secret',
  'token',
  'private',
  'credential',
  'passphrase',
  'api_key',
  'apikey',
  'access_token',
  'authorization',
  'keyfile_dict',
  'service_account',
  'aws_secret_access_key',
] as const;

/** Airflow's min_length_masked_secret: shorter values would mask half of every log line. */
export const MIN_SECRET_LENGTH = 5;

export function isSensitiveKey(name: string): boolean {
  const lower = name.toLowerCase();
  if (SENSITIVE_NAME_PARTS.some((p) => lower.includes(p))) return true;
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[_\-.\s]+/)
    .filter(Boolean);
  return words[words.length - 1] === 'key';
}

export class SecretMasker {
  private readonly secrets = new Set<string>();
  private pattern: RegExp | null = null;
  private dirty = false;

  /** `onFirstSecret` runs once, when the first secret is learned. */
  constructor(private onFirstSecret?: () => void) {}

  /** Remember a secret value (and its URL- and JSON-escaped spellings, which logs also show). */
  add(value: unknown): void {
    if (typeof value !== 'string') return;
    const v = value.trim() === value ? value : value.trim();
    if (v.length < MIN_SECRET_LENGTH) return;
    for (const form of [v, encodeURIComponent(v), JSON.stringify(v).slice(1, -1)]) {
      if (!this.secrets.has(form)) {
        this.secrets.add(form);
        this.dirty = true;
      }
    }
    const first = this.onFirstSecret;
    if (first && this.secrets.size > 0) {
      this.onFirstSecret = undefined;
      first();
    }
  }

  /** Walk a mapping (e.g. a connection's extra) and learn the values of sensitive keys, recursively. */
  addSensitiveValues(obj: unknown, parentSensitive = false): void {
    if (Array.isArray(obj)) {
      for (const v of obj) this.addSensitiveValues(v, parentSensitive);
    } else if (obj && typeof obj === 'object') {
      for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
        this.addSensitiveValues(v, parentSensitive || isSensitiveKey(k));
      }
    } else if (parentSensitive) {
      this.add(typeof obj === 'number' ? String(obj) : obj);
    }
  }

  get size(): number {
    return this.secrets.size;
  }

  mask(text: string): string {
    if (this.secrets.size === 0 || !text) return text;
    const re = this.regex();
    return re ? text.replace(re, MASK) : text;
  }

  /** A copy of `value` with sensitive keys' values and learned secrets masked (for API/CLI output). */
  redact<T>(value: T, parentSensitive = false): T {
    if (typeof value === 'string') return (parentSensitive ? MASK : this.mask(value)) as T;
    if (Array.isArray(value)) return value.map((v) => this.redact(v, parentSensitive)) as T;
    if (value && typeof value === 'object' && !(value instanceof Date)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const sensitive = parentSensitive || isSensitiveKey(k);
        out[k] = sensitive && v !== null && typeof v !== 'object' ? MASK : this.redact(v, sensitive);
      }
      return out as T;
    }
    return value;
  }

  clear(): void {
    this.secrets.clear();
    this.pattern = null;
    this.dirty = false;
  }

  private regex(): RegExp | null {
    if (this.dirty || !this.pattern) {
      // Longest first, so a secret that contains another is masked whole.
      const alts = [...this.secrets].sort((a, b) => b.length - a.length).map(escapeRegExp);
      this.pattern = alts.length ? new RegExp(alts.join('|'), 'g') : null;
      this.dirty = false;
    }
    return this.pattern;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The process-wide masker every connection read feeds; it routes the log module's hook to itself once it knows a secret. */
export const globalSecretMasker = new SecretMasker(() => installSecretMasking());

export function registerSecret(value: unknown): void {
  globalSecretMasker.add(value);
}

export function maskSecrets(text: string): string {
  return globalSecretMasker.mask(text);
}

/** Route the log module's masking hook to the global masker (idempotent; done when it learns its first secret). */
export function installSecretMasking(): void {
  setSecretMasker((s) => globalSecretMasker.mask(s));
}
