/**
 * What an Airflow `aws` connection means for the SDK (Airflow's AwsConnectionWrapper):
 *   login / password            → access key id / secret access key
 *   extra.aws_session_token     → session token
 *   extra.role_arn              → STS AssumeRole on top of those (or of the default chain)
 *   extra.assume_role_kwargs    → extra AssumeRole parameters (ExternalId, DurationSeconds, …)
 *   extra.region_name           → region
 *   extra.endpoint_url          → endpoint for every service;
 *   extra.service_config.<svc>.endpoint_url → endpoint for one service (Airflow's per-service config)
 * No credentials at all means the SDK's default chain.
 */
import { extraDejson, type Connection } from '../../connections/connection.ts';

export const DEFAULT_AWS_CONN_ID = 'aws_default';

export interface AwsConnectionSettings {
  connId: string | null;
  accessKeyId: string | null;
  secretAccessKey: string | null;
  sessionToken: string | null;
  roleArn: string | null;
  roleSessionName: string | null;
  assumeRoleKwargs: Record<string, unknown>;
  regionName: string | null;
  endpointUrl: string | null;
  /** Per-service endpoint overrides, keyed by lower-case service key (s3, sagemaker, sqs, …). */
  serviceEndpoints: Record<string, string>;
}

export function emptyAwsSettings(connId: string | null): AwsConnectionSettings {
  return {
    connId,
    accessKeyId: null,
    secretAccessKey: null,
    sessionToken: null,
    roleArn: null,
    roleSessionName: null,
    assumeRoleKwargs: {},
    regionName: null,
    endpointUrl: null,
    serviceEndpoints: {},
  };
}

export function awsSettingsFromConnection(conn: Connection): AwsConnectionSettings {
  const extra = extraDejson(conn);
  const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);
  const serviceEndpoints: Record<string, string> = {};
  const sc = extra.service_config;
  if (sc && typeof sc === 'object' && !Array.isArray(sc)) {
    for (const [svc, cfg] of Object.entries(sc as Record<string, unknown>)) {
      const url = cfg && typeof cfg === 'object' ? str((cfg as Record<string, unknown>).endpoint_url) : null;
      if (url) serviceEndpoints[svc.toLowerCase()] = url;
    }
  }
  const ark = extra.assume_role_kwargs;
  return {
    connId: conn.conn_id,
    // Older Airflow connections kept keys in extra; the login/password form wins.
    accessKeyId: conn.login ?? str(extra.aws_access_key_id),
    secretAccessKey: conn.password ?? str(extra.aws_secret_access_key),
    sessionToken: str(extra.aws_session_token),
    roleArn: str(extra.role_arn),
    roleSessionName: str(extra.role_session_name),
    assumeRoleKwargs: ark && typeof ark === 'object' && !Array.isArray(ark) ? (ark as Record<string, unknown>) : {},
    regionName: str(extra.region_name) ?? str(extra.region),
    endpointUrl: str(extra.endpoint_url),
    serviceEndpoints,
  };
}
