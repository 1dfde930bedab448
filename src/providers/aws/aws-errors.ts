/**
 * The one place that decides what an AWS SDK error means: throttled, not found, transient, or
 * "already exists". The SDK throws ServiceException subclasses carrying `name` (the AWS error
 * code) and `$metadata.httpStatusCode`; services disagree on codes (SageMaker reports a missing
 * job as a ValidationException whose message says so), so every caller — operators, sensors, the
 * job-name resolver, the reconcile sweep, the log tailer — asks here instead of matching codes.
 *
 * Throttling is retried by the SDK's adaptive retry mode; anything still throttled after that is
 * retried by our pollers, never a task failure by itself.
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

/** Codes that always mean "no such resource". */
const NOT_FOUND_CODES = new Set([
  'ResourceNotFound',
  'ResourceNotFoundException',
  'NotFound',
  'NoSuchKey',
  'NoSuchBucket',
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
]);

/** SageMaker's way of saying a resource is missing: a ValidationException with one of these messages. */
const NOT_FOUND_MESSAGE = /not (be )?found|does not exist|could not find/i;
const ALREADY_EXISTS_MESSAGE = /already exist/i;

const TRANSIENT_CODES = new Set(['TimeoutError', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'RequestTimeout', 'RequestTimeoutException']);

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

function messageOf(e: unknown): string {
  const m = (e as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? m : '';
}

export function isAwsErrorCode(e: unknown, ...codes: string[]): boolean {
  const c = awsErrorCode(e);
  return c !== undefined && codes.includes(c);
}

export function isThrottling(e: unknown): boolean {
  const c = awsErrorCode(e);
  return (c !== undefined && THROTTLING_CODES.has(c)) || httpStatusOf(e) === 429;
}

/** The resource asked for does not exist (a missing SageMaker job, endpoint, model, S3 key …). */
export function isNotFound(e: unknown): boolean {
  const c = awsErrorCode(e);
  if (c !== undefined && NOT_FOUND_CODES.has(c)) return true;
  return (c === 'ValidationException' || c === 'ValidationError') && NOT_FOUND_MESSAGE.test(messageOf(e));
}

/** A create failed because a resource of that name exists already (SageMaker: ResourceInUse, or a ValidationException saying so). */
export function isAlreadyExists(e: unknown): boolean {
  const c = awsErrorCode(e);
  if (c === 'ResourceInUse' || c === 'ResourceInUseException' || c === 'BucketAlreadyOwnedByYou' || c === 'BucketAlreadyExists') return true;
  return c === 'ValidationException' && ALREADY_EXISTS_MESSAGE.test(messageOf(e));
}

/** A transient network/server failure worth retrying on the next poll. */
export function isTransient(e: unknown): boolean {
  if (isThrottling(e)) return true;
  const s = httpStatusOf(e);
  if (s !== undefined && s >= 500) return true;
  const c = awsErrorCode(e);
  return c !== undefined && TRANSIENT_CODES.has(c);
}

/** An AWS error as a DeferflowError (AWS_ERROR) that keeps AWS's own message and code. */
export function toAwsError(e: unknown, action: string): DeferflowError {
  if (e instanceof DeferflowError) return e;
  const code = awsErrorCode(e) ?? 'Error';
  const msg = e instanceof Error ? e.message : String(e);
  return new DeferflowError('AWS_ERROR', `${action} failed: ${code}: ${msg}`, { cause: e });
}
