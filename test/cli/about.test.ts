/** `deferflow version` and `deferflow info` from the real executable: versions, paths, settings with every secret masked. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliHarness, ROOT, type CliHarness } from './cli-harness.ts';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let h: CliHarness;
beforeAll(async () => {
  h = await createCliHarness('about');
});
afterAll(async () => {
  await h?.close();
});

describe('deferflow version / info', { timeout: 120_000 }, () => {
  it('prints the version (as --version does)', async () => {
    expect((await h.run(['version'])).stdout.trim()).toBe(VERSION);
    expect((await h.run(['--version'])).stdout.trim()).toBe(VERSION);
    expect(await h.json(['version'])).toMatchObject({ version: VERSION });
  });

  it('shows versions, paths, settings with secrets masked, and the process layout', async () => {
    const secrets = { token: 'api-T0ken-secret', key: 'k'.repeat(43) + '=', password: 'mongo-Pa55' };
    const uri = h.uri.replace('mongodb://', `mongodb://admin:${secrets.password}@`);
    const env = { DEFERFLOW_API_TOKEN: secrets.token, DEFERFLOW_SECRET_KEY: secrets.key, DEFERFLOW_WORKER_SLOTS: '4', MONGODB_URI: uri };
    const r = await h.run(['info', '-o', 'json'], { env });
    expect(r.code, r.stderr).toBe(0);
    for (const s of Object.values(secrets)) expect(r.stdout + r.stderr).not.toContain(s);
    const info = JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
    expect(Object.keys(info)).toEqual(['deferflow', 'system', 'paths', 'settings', 'process_layout', 'providers']);
    expect(info.deferflow).toMatchObject({ version: VERSION, node_version: process.version, database: expect.stringContaining('admin:***@') });
    expect(info.paths).toMatchObject({ package_dir: ROOT, deferflow_home: h.home });
    expect(info.settings).toMatchObject({
      DEFERFLOW_API_TOKEN: '***',
      DEFERFLOW_SECRET_KEY: '***',
      DEFERFLOW_WORKER_SLOTS: '4',
      DEFERFLOW_TRIGGERER_CAPACITY: '10000 (default)',
      MONGODB_URI: expect.stringContaining('admin:***@'),
    });
    expect(info.process_layout).toMatchObject({ standalone: 'not running', worker_slots: 4, webserver: '127.0.0.1:8080 (API token required)' });
    // The test server takes no credentials: the database is unreachable with them, and info says so (masked).
    expect(info.process_layout.live_processes).toMatch(/^unknown: database mongodb:\/\/admin:\*\*\*@.* unreachable/);
    // On the harness database, which answers (nothing runs on it): no live processes.
    const live = await h.json<Record<string, Record<string, unknown>>>(['info']);
    expect(live.process_layout).toMatchObject({ live_schedulers: 0, live_workers: 0, live_triggerers: 0, database_name: h.dbName });

    for (const format of ['table', 'plain']) {
      const out = await h.run(['info', '-o', format], { env });
      expect(out.code).toBe(0);
      expect(out.stdout).toContain('Process layout');
      expect(out.stdout).toContain(VERSION);
      for (const s of Object.values(secrets)) expect(out.stdout).not.toContain(s);
    }
  });

  it('works without a database, saying it cannot tell which processes live', async () => {
    const r = await h.json<Record<string, Record<string, unknown>>>(['info'], { env: { MONGODB_URI: undefined } });
    expect(r.process_layout.live_processes).toContain('no database configured');
  });
});
