/**
 * Classifying AWS SDK errors: the SDK throws ServiceException subclasses carrying `name` (the AWS
 * error code) and `$metadata.httpStatusCode`. Throttling is retried by the SDK's adaptive retry
 * mode; anything still throttled after that is retried by our pollers, never a task failure.
 */
import { DeferflowError } from '../../errors/deferflow-error.ts';

const THROTTLING_CODES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
]);

export function awsErrorCode(e: unknown): string | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const o = e as { name?: unknown; Code?: unknown; code?: unknown };
  for (const v of [o.Code, o.name, o.code]) if (typeof v === 'string' && v !== 'Error') return v;
  return undefined;
}

export function httpStatusOf(e: unknown): number | undefined {
  const m = (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return m?.httpStatusCode;
}

export function isAwsErrorCode(e: unknown, ...codes: string[]): boolean {
  const c = awsErrorCode(e);
  return c !== undefined && codes.includes(c);
}

export function isThrottling(e: unknown): boolean {
  const c = awsErrorCode(e);
  return (c !== undefined && THROTTLING_CODES.has(c)) || httpStatusOf(e) === 429;
}

/** A transient network/server failure worth retrying on the next poll. */
export function isTransient(e: unknown): boolean {
  if (isThrottling(e)) return true;
  const s = httpStatusOf(e);
  if (s !== undefined && s >= 500) return true;
  const c = awsErrorCode(e);
  return c === 'TimeoutError' || c === 'ECONNRESET' || c === 'ECONNREFUSED' || c === 'EPIPE' || c === 'RequestTimeout';
}

/** An AWS error as a DeferflowError (AWS_ERROR) that keeps AWS's own message and code. */
export function toAwsError(e: unknown, action: string): DeferflowError {
  if (e instanceof DeferflowError) return e;
  const code = awsErrorCode(e) ?? 'Error';
  const msg = e instanceof Error ? e.message : String(e);
  return new DeferflowError('AWS_ERROR', `${action} failed: ${code}: ${msg}`, { cause: e });
}
