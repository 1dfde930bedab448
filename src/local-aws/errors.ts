/**
 * AWS error shapes. One error class is thrown by every service handler; the
 * protocol layer decides how it is written on the wire (AWS JSON `__type`,
 * S3 `<Error>` XML, or the query protocol's `<ErrorResponse>`), because the
 * SDK decodes each protocol's errors differently.
 */
export interface AwsErrorOptions {
  status?: number;
  /** Extra top-level members of a JSON error body / extra elements of an S3 XML error. */
  fields?: Record<string, string | number>;
  /** SQS (awsQueryCompatible): value for the `x-amzn-query-error` header, e.g. `AWS.SimpleQueueService.NonExistentQueue;Sender`. */
  queryError?: string;
  headers?: Record<string, string>;
  /** `Sender` (client fault) or `Receiver` (server fault), for the query protocol. */
  fault?: 'Sender' | 'Receiver';
}

export class AwsError extends Error {
  readonly code: string;
  readonly status: number;
  readonly fields: Record<string, string | number>;
  readonly queryError?: string;
  readonly headers: Record<string, string>;
  readonly fault: 'Sender' | 'Receiver';

  constructor(code: string, message: string, opts: AwsErrorOptions = {}) {
    super(message);
    this.name = code;
    this.code = code;
    this.status = opts.status ?? 400;
    this.fields = opts.fields ?? {};
    this.queryError = opts.queryError;
    this.headers = opts.headers ?? {};
    this.fault = opts.fault ?? (this.status >= 500 ? 'Receiver' : 'Sender');
  }
}

export const validationError = (message: string): AwsError => new AwsError('ValidationException', message);

export const throttlingError = (): AwsError => new AwsError('ThrottlingException', 'Rate exceeded', { status: 400 });

export function internalError(err: unknown): AwsError {
  const message = err instanceof Error ? err.message : String(err);
  return new AwsError('InternalFailure', `Local AWS internal error: ${message}`, { status: 500, fault: 'Receiver' });
}

/** AWS JSON 1.0/1.1 error body. `namespace` prefixes `__type` the way SQS does (`com.amazonaws.sqs#QueueDoesNotExist`). */
export function jsonErrorBody(err: AwsError, namespace?: string): string {
  const type = namespace && !err.code.includes('#') ? `${namespace}#${err.code}` : err.code;
  return JSON.stringify({ __type: type, message: err.message, ...err.fields });
}

export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'));
}

/** S3's `<Error>` document. */
export function s3ErrorXml(err: AwsError, requestId: string): string {
  const extra = Object.entries(err.fields)
    .map(([k, v]) => `<${k}>${xmlEscape(String(v))}</${k}>`)
    .join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message>` +
    `${extra}<RequestId>${requestId}</RequestId><HostId>${requestId}</HostId></Error>`
  );
}

/** The query protocol's error document (STS, legacy SQS). */
export function queryErrorXml(err: AwsError, requestId: string, xmlns?: string): string {
  const ns = xmlns ? ` xmlns="${xmlns}"` : '';
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse${ns}><Error><Type>${err.fault}</Type><Code>${xmlEscape(err.code)}</Code>` +
    `<Message>${xmlEscape(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}
