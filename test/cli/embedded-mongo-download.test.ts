/**
 * `npm start` with no MONGODB_URI where mongod cannot be downloaded (this machine, CI): the error
 * and its hint, nothing else — mongodb-memory-server's own dump of the failure (20 lines of stack)
 * stays off the console; the stack appears at debug level. The download is pointed at a closed
 * local port, so the test behaves the same with or without internet.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from './cli-harness.ts';

let h: CliHarness;
const downloadDir = mkdtempSync(join(tmpdir(), 'deferflow-no-mongod-'));
beforeAll(async () => {
  h = await createCliHarness('no_mongod');
});
afterAll(async () => {
  await h?.close();
  rmSync(downloadDir, { recursive: true, force: true });
});

const OFFLINE = { MONGODB_URI: undefined, MONGOMS_DOWNLOAD_MIRROR: 'https://127.0.0.1:9', MONGOMS_DOWNLOAD_DIR: downloadDir, MONGOMS_SYSTEM_BINARY: undefined };

describe('start without MONGODB_URI when mongod cannot be downloaded', { timeout: 120_000 }, () => {
  it('prints only the error and its hint', async () => {
    const r = await h.run(['start'], { env: OFFLINE, timeoutMs: 90_000 });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^Error \[CONFIG_ERROR\]: No MONGODB_URI set and the embedded MongoDB could not start: mongod could not be downloaded from https:\/\/127\.0\.0\.1:9\//,
    );
    expect(lines[1]).toMatch(/^Hint: Set MONGODB_URI=/);
  });

  it('shows the stack, causes included, at debug level', async () => {
    const r = await h.run(['start'], { env: { ...OFFLINE, DEFERFLOW_LOG_LEVEL: 'debug' }, timeoutMs: 90_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error \[CONFIG_ERROR\]/);
    expect(r.stderr).toMatch(/\n {4}at .*embedded-mongo\.ts/);
    expect(r.stderr).toContain('Caused by: Error: Download failed');
  });
});
