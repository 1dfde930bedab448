/** Response documentation shared by routes whose answers are not JSON resources. */

/** A response without a body (204). */
export function noContent(description: string): { description: string; type: 'null' } {
  return { description, type: 'null' };
}

/** A text response (logs as text/plain, Prometheus metrics, event streams). */
export function textResponse(description: string, contentType: string): { description: string; content: Record<string, { schema: { type: 'string' } }> } {
  return { description, content: { [contentType]: { schema: { type: 'string' } } } };
}
