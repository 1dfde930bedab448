/** Auth: open on loopback, refused beyond loopback without credentials, bearer / basic enforced. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { buildServer, startWebserver, API_TOKEN_ENV } from '../../src/api/server.ts';
import { isLoopbackHost } from '../../src/api/http/auth.ts';
import type { Store } from '../../src/store/store.ts';
import { closeTestStore, openTestStore, seedDag } from './helpers.ts';

let store: Store;
beforeAll(async () => {
  store = await openTestStore('api_auth');
  await seedDag(store, 'etl', { a: [] });
});
afterAll(async () => closeTestStore(store));

describe('binding', () => {
  it('refuses to serve beyond loopback without auth, with a hint', async () => {
    await expect(buildServer({ store, host: '0.0.0.0' })).rejects.toMatchObject({ code: 'CONFIG_ERROR', hint: expect.stringContaining(API_TOKEN_ENV) });
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('::1')).toBe(true);
    expect(isLoopbackHost('10.0.0.5')).toBe(false);
  });

  it('is open on loopback without auth', async () => {
    const app = await buildServer({ store, metricsRegistry: new Registry() });
    expect((await app.inject('/api/v1/dags')).statusCode).toBe(200);
    await app.close();
  });
});

describe('bearer token beyond loopback', () => {
  it('requires the token for everything but health and the UI shell', async () => {
    const app = await buildServer({ store, host: '0.0.0.0', auth: { token: 's3cret-token' }, metricsRegistry: new Registry() });
    const none = await app.inject('/api/v1/dags');
    expect(none.statusCode).toBe(401);
    expect(none.headers['content-type']).toContain('application/problem+json');
    expect(none.headers['www-authenticate']).toContain('Bearer');
    expect(none.json()).toMatchObject({ status: 401, title: 'Unauthorized' });
    expect((await app.inject({ url: '/api/v1/dags', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/v1/dags', headers: { authorization: 'Bearer s3cret-token' } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/api/v1/dags/etl/dagRuns', payload: {} })).statusCode).toBe(401);
    expect((await app.inject('/metrics')).statusCode).toBe(401);
    expect((await app.inject('/api/v1/events')).statusCode).toBe(401);
    expect((await app.inject('/api/v1/health')).statusCode).toBe(200);
    expect((await app.inject('/')).statusCode).toBe(200);
    await app.close();
  });

  it('accepts basic credentials when configured', async () => {
    const app = await buildServer({ store, host: '0.0.0.0', auth: { basic: { user: 'admin', password: 'pw' } }, metricsRegistry: new Registry() });
    const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    expect((await app.inject({ url: '/api/v1/dags', headers: { authorization: basic('admin', 'pw') } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/v1/dags', headers: { authorization: basic('admin', 'nope') } })).statusCode).toBe(401);
    expect((await app.inject('/api/v1/dags')).headers['www-authenticate']).toContain('Basic');
    await app.close();
  });

  it(`startWebserver takes the token from ${API_TOKEN_ENV}`, async () => {
    process.env[API_TOKEN_ENV] = 'env-token';
    try {
      const ws = await startWebserver({ store, port: 0, metricsRegistry: new Registry() });
      expect(ws.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await ws.app.inject('/api/v1/dags')).statusCode).toBe(401);
      expect((await ws.app.inject({ url: '/api/v1/dags', headers: { authorization: 'Bearer env-token' } })).statusCode).toBe(200);
      await ws.close();
    } finally {
      delete process.env[API_TOKEN_ENV];
    }
  });
});
