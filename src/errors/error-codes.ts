/**
 * The error catalogue (Fastify-style): one stable code per failure a user can meet, with the HTTP
 * status the API maps it to. Add codes here, never inline.
 */
export const ERROR_CATALOGUE = {
  DAG_IMPORT_ERROR: { status: 400, title: 'DAG import error' },
  DAG_NOT_FOUND: { status: 404, title: 'DAG not found' },
  TASK_NOT_FOUND: { status: 404, title: 'Task not found' },
  DAG_RUN_NOT_FOUND: { status: 404, title: 'DAG run not found' },
  DAG_RUN_EXISTS: { status: 409, title: 'DAG run already exists' },
  TASK_INSTANCE_NOT_FOUND: { status: 404, title: 'Task instance not found' },
  VARIABLE_NOT_FOUND: { status: 404, title: 'Variable not found' },
  CONNECTION_NOT_FOUND: { status: 404, title: 'Connection not found' },
  CONNECTION_EXISTS: { status: 409, title: 'Connection already exists' },
  INVALID_INPUT: { status: 400, title: 'Invalid input' },
  TEMPLATE_RENDER_ERROR: { status: 400, title: 'Template render error' },
  TASK_FAILED: { status: 500, title: 'Task failed' },
  TASK_TIMEOUT: { status: 500, title: 'Task execution timed out' },
  TASK_SKIPPED: { status: 200, title: 'Task skipped' },
  TASK_DEFERRED: { status: 200, title: 'Task deferred' },
  TRIGGER_FAILED: { status: 500, title: 'Trigger failed' },
  TRIGGER_TIMEOUT: { status: 500, title: 'Trigger timeout' },
  UNKNOWN_TRIGGER_KIND: { status: 500, title: 'Unknown trigger kind' },
  STATE_CONFLICT: { status: 409, title: 'State changed concurrently' },
  RUN_WAIT_TIMEOUT: { status: 504, title: 'Timed out waiting for a DAG run to finish' },
  AWS_ERROR: { status: 502, title: 'AWS request failed' },
  SAGEMAKER_JOB_FAILED: { status: 500, title: 'SageMaker job failed' },
  CONFIG_ERROR: { status: 500, title: 'Configuration error' },
  SECRET_KEY_ERROR: { status: 500, title: 'Secret key error' },
  UNAUTHORIZED: { status: 401, title: 'Unauthorized' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;
