/**
 * The redaction hook applied to every task-log line before it is stored or printed. The
 * connections module registers a masker that hides connection secrets; until then lines pass
 * through unchanged. One process-wide hook, because secrets are process-wide too.
 */
export type SecretMasker = (s: string) => string;

const identity: SecretMasker = (s) => s;
let current: SecretMasker = identity;

/** Replace the masker (pass null to remove it). */
export function setSecretMasker(fn: SecretMasker | null): void {
  current = fn ?? identity;
}

/** Apply the registered masker; a masker that throws must never lose the line, so fall back to it unmasked-but-flagged. */
export function maskSecrets(s: string): string {
  try {
    return current(s);
  } catch {
    return '[line withheld: secret masker failed]';
  }
}
