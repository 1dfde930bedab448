import { describe, expect, it } from 'vitest';
import { describeSettings, loadSettings, redactMongoUri, wantsLocalAws } from '../../src/config/settings.ts';
import { InvalidInputError } from '../../src/errors/invalid-input-error.ts';

describe('loadSettings', () => {
  it('applies defaults, resolves paths against cwd and lets flags override env', () => {
    const s = loadSettings(
      { webserverPort: '9090' },
      { DEFERFLOW_HOME: 'home', DEFERFLOW_WEBSERVER_PORT: '8081', DEFERFLOW_DAGS_FOLDER: 'my/dags' },
      '/srv/app',
    );
    expect(s.home).toBe('/srv/app/home');
    expect(s.dagsFolder).toBe('/srv/app/my/dags');
    expect(s.webserver).toEqual({ host: '127.0.0.1', port: 9090, authToken: undefined });
    expect(s.localAws).toEqual({ mode: 'auto', port: 4566, dataDir: '/srv/app/home/local-aws' });
    expect(s.mongoUri).toBeUndefined();
    expect(s.logLevel).toBe('info');
  });

  it('names the variable or flag and what it accepts', () => {
    const env = { MONGODB_URI: 'http://nope', DEFERFLOW_LOG_LEVEL: 'loud', DEFERFLOW_TRIGGERER_CAPACITY: '0' };
    let err: unknown;
    try {
      loadSettings({ workerSlots: 'many' }, env, '/');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidInputError);
    const msg = (err as Error).message;
    expect(msg).toContain('MONGODB_URI: must be a MongoDB connection string');
    expect(msg).toContain('DEFERFLOW_LOG_LEVEL: must be one of trace, debug, info, warn, error, fatal, silent');
    expect(msg).toContain('DEFERFLOW_TRIGGERER_CAPACITY: the triggerer capacity must be at least 1');
    expect(msg).toContain('--slots: the worker slot count must be a number');
  });

  it('never shows secrets when described', () => {
    const s = loadSettings({}, { MONGODB_URI: 'mongodb://admin:s3cret@db:27017/x', DEFERFLOW_API_TOKEN: 'tok-abc' }, '/');
    const text = JSON.stringify(describeSettings(s));
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('tok-abc');
    expect(redactMongoUri('mongodb+srv://u:p@h/db')).toBe('mongodb+srv://u:***@h/db');
  });

  it('uses the local AWS only when nothing points at another AWS', () => {
    const s = loadSettings({}, {}, '/');
    expect(wantsLocalAws(s, {})).toBe(true);
    expect(wantsLocalAws(s, { AWS_ENDPOINT_URL_SAGEMAKER: 'http://x' })).toBe(false);
    expect(wantsLocalAws(s, { AWS_ACCESS_KEY_ID: 'AKIA' })).toBe(false);
    expect(wantsLocalAws(loadSettings({}, { DEFERFLOW_LOCAL_AWS: 'always' }, '/'), { AWS_PROFILE: 'p' })).toBe(true);
    expect(wantsLocalAws(loadSettings({}, { DEFERFLOW_LOCAL_AWS: 'never' }, '/'), {})).toBe(false);
  });
});
