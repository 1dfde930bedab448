/**
 * The AWS SDK's 7-line NodeVersionSupportWarning: never printed by the `deferflow` executable
 * (on Node 20 it sets the SDK's documented switch unless the user did; Node ≥ 22 never gets it).
 * Checked with a real SDK client in a child process on the Node running the suite (CI: 20 and 24).
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { quietAwsSdkNodeVersionWarning } from '../../src/cli/cli-process.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const MAJOR = Number(process.versions.node.split('.')[0]);

/** stderr of a Node process that creates an S3 client, after the executable's set-up or not. */
function clientStderr(prepare: boolean): Promise<string> {
  const code = [
    prepare ? "const { prepareCliProcess } = await import('./src/cli/cli-process.ts'); prepareCliProcess();" : '',
    "const { S3Client } = await import('@aws-sdk/client-s3');",
    "new S3Client({ region: 'us-east-1' }).destroy();",
  ].join('\n');
  const env = { ...process.env };
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  return new Promise((done, fail) => {
    execFile(process.execPath, ['--import', TSX, '--input-type=module', '-e', code], { cwd: ROOT, env, timeout: 60_000 }, (err, _out, stderr) =>
      err ? fail(new Error(`${err.message}\n${stderr}`)) : done(String(stderr)),
    );
  });
}

describe('the AWS SDK Node version warning', { timeout: 90_000 }, () => {
  it('is switched off on Node < 22 only, and never against the user’s own setting', () => {
    const env20: NodeJS.ProcessEnv = {};
    quietAwsSdkNodeVersionWarning(env20, '20.20.2');
    expect(env20.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe('true');
    const env24: NodeJS.ProcessEnv = {};
    quietAwsSdkNodeVersionWarning(env24, '24.11.0');
    expect(env24.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBeUndefined();
    const userWantsIt: NodeJS.ProcessEnv = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'false' };
    quietAwsSdkNodeVersionWarning(userWantsIt, '20.20.2');
    expect(userWantsIt.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe('false');
  });

  it(`is not printed by a process set up as the executable sets itself up (Node ${process.versions.node})`, async () => {
    expect(await clientStderr(true)).not.toContain('NodeVersionSupportWarning');
    // Without the set-up, Node < 22 gets the SDK's warning (so the line above can fail); Node ≥ 22 does not.
    const bare = await clientStderr(false);
    if (MAJOR < 22) expect(bare).toContain('NodeVersionSupportWarning');
    else expect(bare).not.toContain('NodeVersionSupportWarning');
  });
});
