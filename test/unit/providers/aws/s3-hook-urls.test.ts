import { describe, expect, it } from 'vitest';
import { S3Hook } from '../../../../src/providers/aws/hooks/s3-hook.ts';

describe('S3Hook.parseS3Url (Airflow parse_s3_url)', () => {
  it('parses s3://, s3a://, s3n:// URLs', () => {
    expect(S3Hook.parseS3Url('s3://my-bucket/path/to/key.csv')).toEqual({ bucket: 'my-bucket', key: 'path/to/key.csv' });
    expect(S3Hook.parseS3Url('s3a://b/k')).toEqual({ bucket: 'b', key: 'k' });
    expect(S3Hook.parseS3Url('S3N://b/dir/')).toEqual({ bucket: 'b', key: 'dir/' });
    expect(S3Hook.parseS3Url('s3://b')).toEqual({ bucket: 'b', key: '' });
  });

  it('parses both https forms', () => {
    expect(S3Hook.parseS3Url('https://s3.us-east-1.amazonaws.com/bucket-name/key/name.txt')).toEqual({ bucket: 'bucket-name', key: 'key/name.txt' });
    expect(S3Hook.parseS3Url('https://bucket-name.s3.eu-west-1.amazonaws.com/key-name')).toEqual({ bucket: 'bucket-name', key: 'key-name' });
  });

  it("rejects what Airflow rejects, with Airflow's messages", () => {
    expect(() => S3Hook.parseS3Url('s3:///key')).toThrow(/Please provide a bucket name using a valid format/);
    expect(() => S3Hook.parseS3Url('https://example.com/x')).toThrow(/valid virtually hosted format/);
    expect(() => S3Hook.parseS3Url('bucket/key')).toThrow(/s3:\/\/bucket-name\/key-name/);
  });

  it('getS3BucketKey: a bucket or a URL, never both', () => {
    expect(S3Hook.getS3BucketKey(null, 's3://b/k')).toEqual({ bucket: 'b', key: 'k' });
    expect(S3Hook.getS3BucketKey('b', 'k/x')).toEqual({ bucket: 'b', key: 'k/x' });
    expect(() => S3Hook.getS3BucketKey('b', 's3://other/k')).toThrow(/should not be passed/);
  });
});
