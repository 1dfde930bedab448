/**
 * Connections deferflow makes for itself (`deferflow standalone` / `start` / `tasks test` point
 * `aws_default` and `aws-sagemaker` at the embedded local AWS) carry this description. It is how
 * they are told from the user's own: deferflow re-points only these, never a user's connection,
 * and `connections add` may replace one of these (the user taking the id over) where it refuses
 * to overwrite a user's.
 */
export const MANAGED_CONNECTION_DESCRIPTION = 'Managed by deferflow standalone: the embedded local AWS';

export function isManagedConnection(doc: { description?: string | null } | null | undefined): boolean {
  return doc?.description === MANAGED_CONNECTION_DESCRIPTION;
}
