/**
 * A JSON object stored as text (a run's conf, a task's next_kwargs or rendered fields, a DAG's
 * params): the object, or {} when the text is absent, not JSON, or JSON of something else. Stored
 * text is only read back here, so a malformed value shows as empty rather than failing a read.
 */
export function parseJsonObject(json: string | null | undefined): Record<string, unknown> {
  if (!json) return {};
  try {
    const v = JSON.parse(json) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
