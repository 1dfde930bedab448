/**
 * What the `deferflow` executable (either entry: src/cli/bin.mjs from sources, dist's
 * deferflow.js compiled) settles for its own process before a command runs. Only the executable
 * does this: the library (`Runtime`) never changes the environment of the application that
 * embeds it.
 */

/**
 * The AWS SDK warns once per process, in 7 lines, that its releases after January 2027 need
 * Node ≥ 22. deferflow supports Node 20 (README) and every AWS-using command would print it, so
 * the executable turns it off through the SDK's documented switch (aws/aws-sdk-js-v3#7983) —
 * unless the user set that switch themselves. Node ≥ 22 never gets the warning.
 */
export function quietAwsSdkNodeVersionWarning(env: NodeJS.ProcessEnv = process.env, nodeVersion: string = process.versions.node): void {
  const major = Number(nodeVersion.split('.')[0]);
  if (major < 22 && env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined) env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
}

export function prepareCliProcess(): void {
  quietAwsSdkNodeVersionWarning();
}
