import { describe, expect, it } from 'vitest';
import { parseConnectionUri, toConnectionUri } from '../../../src/connections/connection-uri.ts';
import { extraDejson } from '../../../src/connections/connection.ts';

describe('parseConnectionUri (Airflow URI form)', () => {
  it('parses the AWS form with empty host, credentials and extra params', () => {
    const c = parseConnectionUri(
      'aws://AKIAEXAMPLE:wJalr%2FXUtnFEMI%2BK7MDENG@/?region_name=us-east-1&role_arn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdeploy',
    );
    expect(c.conn_type).toBe('aws');
    expect(c.host).toBeNull();
    expect(c.login).toBe('AKIAEXAMPLE');
    expect(c.password).toBe('wJalr/XUtnFEMI+K7MDENG');
    expect(c.port).toBeNull();
    expect(extraDejson(c)).toEqual({ region_name: 'us-east-1', role_arn: 'arn:aws:iam::123456789012:role/deploy' });
  });

  it("parses Airflow's documented general form", () => {
    const c = parseConnectionUri('my-conn-type://login:password@host:5432/schema?param1=val1&param2=val2');
    expect(c).toMatchObject({ conn_type: 'my_conn_type', host: 'host', login: 'login', password: 'password', port: 5432, schema: 'schema' });
    expect(extraDejson(c)).toEqual({ param1: 'val1', param2: 'val2' });
  });

  it('decodes percent-encoded query values (Airflow google-cloud-platform example)', () => {
    const c = parseConnectionUri(
      'google-cloud-platform://?key_path=%2Fkeys%2Fkey.json&scope=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcloud-platform&project=airflow&num_retries=5',
    );
    expect(c.conn_type).toBe('google_cloud_platform');
    expect(extraDejson(c)).toEqual({
      key_path: '/keys/key.json',
      scope: 'https://www.googleapis.com/auth/cloud-platform',
      project: 'airflow',
      num_retries: '5',
    });
  });

  it('takes nested extra from __extra__', () => {
    const c = parseConnectionUri(
      'my-conn-type://login:password@host:5432/schema?__extra__=%7B%22my_val%22%3A+%5B%22list%22%2C+%22of%22%2C+%22values%22%5D%2C+%22extra%22%3A+%7B%22nested%22%3A+%7B%22json%22%3A+%22val%22%7D%7D%7D',
    );
    expect(extraDejson(c)).toEqual({ my_val: ['list', 'of', 'values'], extra: { nested: { json: 'val' } } });
  });

  it('keeps a host that carries its own protocol', () => {
    const c = parseConnectionUri('type://protocol://host:1234/schema');
    expect(c).toMatchObject({ conn_type: 'type', host: 'protocol://host', port: 1234, schema: 'schema' });
  });

  it('decodes an encoded "/" in the host and special characters in login and schema', () => {
    const c = parseConnectionUri('scheme://us%40er:p%40ss%3Aw%23rd@host%2Flocation:1234/sch%2Fema');
    expect(c).toMatchObject({ host: 'host/location', login: 'us@er', password: 'p@ss:w#rd', port: 1234, schema: 'sch/ema' });
  });

  it('normalises postgresql to postgres', () => {
    expect(parseConnectionUri('postgresql://u:p@db/x').conn_type).toBe('postgres');
  });

  it('rejects more than two schemes, a bad port, a missing scheme, and never echoes the password', () => {
    expect(() => parseConnectionUri('a://b://c://d')).toThrow(/Invalid connection string/);
    expect(() => parseConnectionUri('aws://k:topsecret@host:99999')).toThrow(/port/);
    expect(() => parseConnectionUri('no-scheme-here')).toThrow(/conn_type/);
    try {
      parseConnectionUri('x://u:topsecret@h://y://z');
    } catch (e) {
      expect((e as Error).message).not.toContain('topsecret');
    }
  });
});

describe('toConnectionUri (Airflow get_uri)', () => {
  const base = { description: null, schema: null, port: null, host: null, login: null, password: null, extra: null };

  it('round-trips the AWS form', () => {
    const conn = { ...base, conn_type: 'aws', login: 'AKIA', password: 's/ecr+et', extra: JSON.stringify({ region_name: 'eu-west-1' }) };
    const uri = toConnectionUri(conn);
    expect(uri).toBe('aws://AKIA:s%2Fecr%2Bet@/?region_name=eu-west-1');
    expect(parseConnectionUri(uri)).toEqual(conn);
  });

  it('uses __extra__ for nested or non-string extras and round-trips them', () => {
    const extra = JSON.stringify({ n: 5, nested: { a: [1, 2] } });
    const conn = { ...base, conn_type: 'my_type', host: 'h', port: 80, schema: 's', extra };
    const uri = toConnectionUri(conn);
    expect(uri.startsWith('my-type://h:80/s?__extra__=')).toBe(true);
    expect(extraDejson(parseConnectionUri(uri))).toEqual(JSON.parse(extra));
  });

  it('writes a host with protocol and a port-only connection as Airflow does', () => {
    expect(toConnectionUri({ ...base, conn_type: 'http', host: 'https://example.com/x' })).toBe('http://https://example.com%2Fx');
    expect(toConnectionUri({ ...base, conn_type: 't', port: 8080 })).toBe('t://@:8080');
    expect(parseConnectionUri('t://@:8080').port).toBe(8080);
  });
});
