/**
 * Environment for e2e child processes: no AWS configuration inherited from the machine running the
 * tests, so `DEFERFLOW_LOCAL_AWS=auto` picks the local AWS as it does on a fresh laptop.
 * Not a test file itself.
 */
export const NO_AWS_ENV: Record<string, string | undefined> = {
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_ENDPOINT_URL: undefined,
  AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
  AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
  DEFERFLOW_LOCAL_AWS: undefined,
  DEFERFLOW_EVENTS_QUEUE_URL: undefined,
  // The SDK's Node 20 end-of-support notice is not what these tests read.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  ...Object.fromEntries(
    Object.keys(process.env)
      .filter((k) => k.startsWith('AWS_ENDPOINT_URL_'))
      .map((k) => [k, undefined]),
  ),
};
