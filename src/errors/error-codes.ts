/**
 * The error catalogue (Fastify-style): one stable code per failure a user can meet — what it
 * means, the HTTP status the API answers with it (RFC 7807 `type` …/problems/<code>) and the exit
 * code of a CLI command that ends with it. Every error deferflow raises on purpose is a
 * DeferflowError carrying one of these codes; add codes here, never inline.
 *
 * The two signals a task throws to steer its outcome, TaskSkipped and TaskDeferred, are
 * DeferflowErrors with codes too (TASK_SKIPPED, TASK_DEFERRED): one hierarchy, and the worker tells
 * them apart by their brands before it treats anything as a failure.
 *
 * Kept honest by test/unit/errors/error-catalogue.test.ts: every code here is raised somewhere in
 * src/ or triggerer/, every code raised is here, every code is a row of the README's "Errors"
 * table (with this status, exit code and meaning), and every error class derives from
 * DeferflowError — except the local AWS's AWS wire errors, the browser app's ApiError and the
 * event-pattern compiler's internal error, listed there with their reasons.
 */
export interface ErrorCatalogueEntry {
  /** The HTTP status of the API's problem document. */
  readonly status: number;
  /** A CLI command that fails with this code exits with it: 2 = fix the command line, 1 = anything else. */
  readonly exit: 1 | 2;
  /** The problem document's `title`. */
  readonly title: string;
  /** What happened and where a user meets it (the README's "Errors" table repeats it). */
  readonly meaning: string;
}

export const ERROR_CATALOGUE = {
  TASK_SKIPPED: {
    status: 200,
    exit: 1,
    title: 'Task skipped',
    meaning: 'Thrown by a task (TaskSkipped) to end its try as skipped; downstream trigger rules see a skip, not a failure.',
  },
  TASK_DEFERRED: {
    status: 200,
    exit: 1,
    title: 'Task deferred',
    meaning:
      'Thrown by `operator.defer()` (TaskDeferred): the worker stores the trigger, moves the task to deferred and frees its slot. A signal, not a failure.',
  },
  INVALID_INPUT: {
    status: 400,
    exit: 2,
    title: 'Invalid input',
    meaning: 'A request body, query parameter, command-line argument, setting or variable value is malformed; the message names the field and what it accepts.',
  },
  DAG_IMPORT_ERROR: {
    status: 400,
    exit: 1,
    title: 'DAG import error',
    meaning: 'A DAG file could not be loaded (it threw, timed out, exited, or gave an invalid DAG or task argument); the message names the file and line.',
  },
  TEMPLATE_RENDER_ERROR: {
    status: 400,
    exit: 1,
    title: 'Template render error',
    meaning: "A task's templated field could not be rendered; the try fails with the field's path and the template.",
  },
  UNAUTHORIZED: {
    status: 401,
    exit: 1,
    title: 'Unauthorized',
    meaning: 'The API needs a bearer token or basic credentials and the request had none or wrong ones.',
  },
  NOT_FOUND: { status: 404, exit: 1, title: 'Not found', meaning: 'No such route, XCom entry or import error.' },
  DAG_NOT_FOUND: { status: 404, exit: 1, title: 'DAG not found', meaning: 'No DAG with that id is in the DAGs folder or recorded by a DAG processor.' },
  TASK_NOT_FOUND: { status: 404, exit: 1, title: 'Task not found', meaning: 'The DAG has no task with that id.' },
  DAG_RUN_NOT_FOUND: { status: 404, exit: 1, title: 'DAG run not found', meaning: 'The DAG has no run with that run id or logical date.' },
  TASK_INSTANCE_NOT_FOUND: { status: 404, exit: 1, title: 'Task instance not found', meaning: 'The run has no task instance with that task id and map index.' },
  VARIABLE_NOT_FOUND: { status: 404, exit: 1, title: 'Variable not found', meaning: 'No variable with that key.' },
  CONNECTION_NOT_FOUND: {
    status: 404,
    exit: 1,
    title: 'Connection not found',
    meaning: 'No connection with that conn_id, neither stored nor in a `DEFERFLOW_CONN_<ID>` environment variable.',
  },
  DAG_RUN_EXISTS: { status: 409, exit: 1, title: 'DAG run already exists', meaning: 'The DAG already has a run with that run id or logical date.' },
  CONNECTION_EXISTS: { status: 409, exit: 1, title: 'Connection already exists', meaning: 'A connection with that conn_id is already stored.' },
  STATE_CONFLICT: {
    status: 409,
    exit: 1,
    title: 'State changed concurrently',
    meaning: 'Another process changed the row first (a guarded update found it in another state, or a per-document lock stayed taken); retry.',
  },
  LEASE_LOST: {
    status: 409,
    exit: 1,
    title: 'Task instance lease lost',
    meaning:
      "The task instance changed under the worker running it (cleared, marked, or reaped as a zombie): the try's abort reason; the try never writes the task instance again.",
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    exit: 1,
    title: 'Payload too large',
    meaning: 'An API request body is larger than the server accepts (1 MiB by default); send less, or split it (e.g. import variables in parts).',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    exit: 1,
    title: 'Unsupported media type',
    meaning: 'An API request body was sent with a content type other than application/json.',
  },
  TASK_FAILED: {
    status: 500,
    exit: 1,
    title: 'Task failed',
    meaning: 'Thrown by a task (TaskFailedNoRetry) to fail without using its remaining retries.',
  },
  TASK_TIMEOUT: {
    status: 500,
    exit: 1,
    title: 'Task execution timed out',
    meaning: "The task's execution_timeout passed (counted from the try's first start, deferral included); the try fails and its retries apply.",
  },
  TRIGGER_FAILED: {
    status: 500,
    exit: 1,
    title: 'Trigger failed',
    meaning:
      'The trigger a deferred task waited on failed (threw, unknown kind, invalid kwargs, its resource vanished) or resumed it with no usable event; the task fails through `__fail__` and its retries apply.',
  },
  TRIGGER_TIMEOUT: {
    status: 500,
    exit: 1,
    title: 'Trigger timeout',
    meaning: "The deferral's timeout passed before its trigger fired; the task fails through `__fail__` and its retries apply.",
  },
  SAGEMAKER_JOB_FAILED: {
    status: 500,
    exit: 1,
    title: 'SageMaker job failed',
    meaning: 'A SageMaker job or endpoint ended Failed or Stopped (or did not end within max_attempts); the message carries its FailureReason.',
  },
  CONFIG_ERROR: {
    status: 500,
    exit: 1,
    title: 'Configuration error',
    meaning:
      'The process cannot run as configured: no or unreachable MongoDB, a webserver beyond loopback without a token, missing indexes or seed variables, no AWS clients.',
  },
  SECRET_KEY_ERROR: {
    status: 500,
    exit: 1,
    title: 'Secret key error',
    meaning:
      '`DEFERFLOW_SECRET_KEY` (or `$DEFERFLOW_HOME/secret.key`) is malformed, unreadable, or not the key the stored connection secrets were encrypted with.',
  },
  INTERNAL_ERROR: {
    status: 500,
    exit: 1,
    title: 'Internal server error',
    meaning: 'Anything not raised on purpose: a bug in deferflow; rerun with `DEFERFLOW_LOG_LEVEL=debug` for the stack and report it.',
  },
  AWS_ERROR: { status: 502, exit: 1, title: 'AWS request failed', meaning: 'An AWS call failed; the message names the action and the AWS error code.' },
  WORKER_SHUTDOWN: {
    status: 503,
    exit: 1,
    title: 'Worker shutting down',
    meaning: "The worker stopped before the try finished (its grace period ran out): the try's abort reason; it fails and its retries apply.",
  },
  RUN_WAIT_TIMEOUT: {
    status: 504,
    exit: 1,
    title: 'Timed out waiting for a DAG run to finish',
    meaning: 'A DAG run did not finish within the time a caller waited for it (`--timeout` of `deferflow start` and `dags test`, `Runtime.waitForRun`).',
  },
} as const satisfies Record<string, ErrorCatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;
