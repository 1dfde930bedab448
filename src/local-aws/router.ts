/**
 * Decides which service and protocol a request speaks, the way AWS's front
 * door would: by the SigV4 credential scope's service name
 * (`Credential=AKID/<date>/<region>/<service>/aws4_request`, also from a
 * presigned URL's X-Amz-Credential), then X-Amz-Target for the JSON
 * protocols, the `/endpoints/<name>/invocations` path for SageMaker Runtime,
 * and `Action=` form bodies for the query protocol. Signatures are not
 * verified; a non-SigV4 Authorization header is rejected.
 */
import type { IncomingMessage } from 'node:http';
import { header } from './http.ts';

export type JsonService = 'sagemaker' | 'sqs' | 'events' | 'logs';

export type Route =
  | { protocol: 's3' }
  | { protocol: 'json'; service: JsonService; action: string }
  | { protocol: 'rest-json'; service: 'sagemaker-runtime'; endpointName: string }
  | { protocol: 'query'; service: 'sts' | 'sqs' }
  | { protocol: 'unknown'; message: string };

const TARGETS: Array<[string, JsonService]> = [
  ['SageMaker.', 'sagemaker'],
  ['AmazonSQS.', 'sqs'],
  ['AWSEvents.', 'events'],
  ['Logs_20140328.', 'logs'],
];

const SCOPE_RE = /Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request/;

export interface SigInfo {
  accessKeyId?: string;
  region?: string;
  service?: string;
}

export function parseAuth(req: IncomingMessage, url: URL): SigInfo | { malformed: string } {
  const auth = header(req, 'authorization');
  if (auth !== undefined) {
    if (!/^AWS4-(HMAC-SHA256|ECDSA-P256-SHA256) /.test(auth)) return { malformed: 'Authorization header is not a valid AWS Signature Version 4 header' };
    const m = SCOPE_RE.exec(auth);
    if (!m) return { malformed: "Authorization header requires 'Credential' parameter with a valid credential scope" };
    return { accessKeyId: m[1], region: m[3], service: m[4] };
  }
  const cred = url.searchParams.get('X-Amz-Credential');
  if (cred) {
    const parts = cred.split('/');
    if (parts.length === 5) return { accessKeyId: parts[0], region: parts[2], service: parts[3] };
  }
  return {};
}

const INVOKE_RE = /^\/endpoints\/([^/]+)\/invocations\/?$/;
const STS_ACTIONS = new Set(['AssumeRole', 'GetCallerIdentity', 'GetSessionToken', 'AssumeRoleWithWebIdentity', 'GetAccessKeyInfo']);

/** `formAction` is the `Action` of a form body (the caller peeks for POSTs with a form content type). */
export function route(req: IncomingMessage, rawPath: string, sig: SigInfo, formAction?: string): Route {
  const target = header(req, 'x-amz-target');
  const svc = sig.service;
  if (target) {
    const t = TARGETS.find(([p]) => target.startsWith(p));
    if (t) return { protocol: 'json', service: t[1], action: target.slice(t[0].length) };
    return { protocol: 'unknown', message: `Unknown X-Amz-Target ${target}` };
  }
  const invoke = INVOKE_RE.exec(rawPath);
  if (invoke && req.method === 'POST' && (svc === undefined || svc === 'sagemaker')) {
    return { protocol: 'rest-json', service: 'sagemaker-runtime', endpointName: decodeURIComponent(invoke[1]) };
  }
  if (formAction) {
    if (svc === 'sts' || (svc === undefined && STS_ACTIONS.has(formAction))) return { protocol: 'query', service: 'sts' };
    if (svc === 'sqs' || svc === undefined) return { protocol: 'query', service: 'sqs' };
  }
  if (svc === undefined || svc === 's3' || svc === 's3express') return { protocol: 's3' };
  return { protocol: 'unknown', message: `Service ${svc} is not provided by local AWS (or the request shape is unknown)` };
}
