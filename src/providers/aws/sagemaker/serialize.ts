/**
 * XCom-safe copies of SDK responses: Airflow's `serialize()` round-trips the describe through JSON;
 * here Dates become ISO strings and the SDK's `$metadata` is dropped, so
 * `ti.xcom_pull('train')['Training']['ModelArtifacts']['S3ModelArtifacts']` reads as in Airflow.
 */
export function serializeDescribe(value: unknown): Record<string, unknown> {
  const out = toJsonSafe(value);
  return out && typeof out === 'object' && !Array.isArray(out) ? (out as Record<string, unknown>) : {};
}

function toJsonSafe(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(toJsonSafe);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k === '$metadata' || x === undefined) continue;
      out[k] = toJsonSafe(x);
    }
    return out;
  }
  if (typeof v === 'bigint') return v.toString();
  return v;
}
