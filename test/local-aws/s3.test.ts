import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { clientConfig, startTestAws, type TestAws } from './helpers.ts';

let t: TestAws;
beforeAll(async () => {
  t = await startTestAws();
  await t.s3.send(new CreateBucketCommand({ Bucket: 'data' }));
});
afterAll(() => t.close());

describe('S3', () => {
  it('creates, lists and heads buckets; a repeated create is 200 in us-east-1 and BucketAlreadyOwnedByYou elsewhere (as S3)', async () => {
    const list = await t.s3.send(new ListBucketsCommand({}));
    expect(list.Buckets?.map((b) => b.Name)).toContain('data');
    await t.s3.send(new HeadBucketCommand({ Bucket: 'data' }));
    const again = await t.s3.send(new CreateBucketCommand({ Bucket: 'data' }));
    expect(again.$metadata.httpStatusCode).toBe(200);
    const eu = new S3Client({ ...clientConfig(t.aws), region: 'eu-west-1', forcePathStyle: true });
    await eu.send(new CreateBucketCommand({ Bucket: 'data-eu', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    await expect(eu.send(new CreateBucketCommand({ Bucket: 'data-eu', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }))).rejects.toMatchObject(
      {
        name: 'BucketAlreadyOwnedByYou',
        $metadata: { httpStatusCode: 409 },
      },
    );
    eu.destroy();
    await expect(t.s3.send(new HeadBucketCommand({ Bucket: 'nope' }))).rejects.toMatchObject({ name: 'NotFound' });
    await expect(t.s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' }))).rejects.toMatchObject({ name: 'InvalidBucketName' });
  });

  it('puts a streamed body (aws-chunked with CRC32 trailer) and gets it back with metadata', async () => {
    const body = Buffer.from('hello,world\n'.repeat(1000));
    const res = await t.s3.send(
      new PutObjectCommand({
        Bucket: 'data',
        Key: 'dir/a.csv',
        Body: Readable.from([body.subarray(0, 5000), body.subarray(5000)]),
        ContentLength: body.length,
        ContentType: 'text/csv',
        Metadata: { owner: 'me' },
      }),
    );
    expect(res.ETag).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
    const get = await t.s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'dir/a.csv' }));
    expect(get.ContentType).toBe('text/csv');
    expect(get.Metadata).toEqual({ owner: 'me' });
    expect(Buffer.from(await get.Body!.transformToByteArray()).equals(body)).toBe(true);
    const head = await t.s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'dir/a.csv' }));
    expect(head.ContentLength).toBe(body.length);
    const range = await t.s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'dir/a.csv', Range: 'bytes=0-4' }));
    expect(await range.Body!.transformToString()).toBe('hello');
    expect(range.ContentRange).toBe(`bytes 0-4/${body.length}`);
    // stored on disk under dataDir/s3/<bucket>/..., with a metadata sidecar
    expect(existsSync(join(t.dataDir, 's3', 'data', 'dir'))).toBe(true);
    expect(readdirSync(join(t.dataDir, 's3', 'data', 'dir')).sort()).toEqual(['a.csv!meta', 'a.csv!obj']);
  });

  it('verifies flexible checksums (BadDigest on mismatch) and returns them with ChecksumMode', async () => {
    await expect(t.s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'sum.txt', Body: 'hello', ChecksumCRC32: 'AAAAAA==' }))).rejects.toMatchObject({
      name: 'BadDigest',
    });
    await t.s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'sum.txt', Body: 'hello' }));
    const h = await t.s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'sum.txt', ChecksumMode: 'ENABLED' }));
    expect(h.ChecksumCRC32).toBe('NhCmhg==');
  });

  it('keeps keys that are both an object and a prefix apart', async () => {
    await t.s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'x', Body: 'file' }));
    await t.s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'x/y', Body: 'nested' }));
    expect(await (await t.s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'x' }))).Body!.transformToString()).toBe('file');
    expect(await (await t.s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'x/y' }))).Body!.transformToString()).toBe('nested');
  });

  it('errors: NoSuchKey, NoSuchBucket (S3 XML error shape)', async () => {
    await expect(t.s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'missing' }))).rejects.toMatchObject({
      name: 'NoSuchKey',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(t.s3.send(new GetObjectCommand({ Bucket: 'nobucket', Key: 'k' }))).rejects.toMatchObject({ name: 'NoSuchBucket' });
    await expect(t.s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'missing' }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('rejects keys that would escape the bucket directory', async () => {
    for (const Key of ['../../etc/passwd', 'a/../../../b', '/abs/path', 'a/./b']) {
      await expect(t.s3.send(new PutObjectCommand({ Bucket: 'data', Key, Body: 'x' }))).rejects.toMatchObject({
        name: 'InvalidArgument',
        $metadata: { httpStatusCode: 400 },
      });
    }
    expect(existsSync(join(t.dataDir, 'etc'))).toBe(false);
    expect(existsSync(join(t.dataDir, 's3', 'b!obj'))).toBe(false);
  });

  it('lists with prefix, delimiter, max-keys, continuation-token and start-after', async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: 'listing' }));
    const keys = ['a/1', 'a/2', 'a/3', 'b/1', 'b/sub/2', 'c'];
    for (const Key of keys) await t.s3.send(new PutObjectCommand({ Bucket: 'listing', Key, Body: Key }));
    const top = await t.s3.send(new ListObjectsV2Command({ Bucket: 'listing', Delimiter: '/' }));
    expect(top.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/', 'b/']);
    expect(top.Contents?.map((c) => c.Key)).toEqual(['c']);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await t.s3.send(new ListObjectsV2Command({ Bucket: 'listing', MaxKeys: 2, ContinuationToken: token }));
      seen.push(...(page.Contents ?? []).map((c) => c.Key!));
      expect(page.KeyCount).toBeLessThanOrEqual(2);
      token = page.NextContinuationToken;
    } while (token);
    expect(seen).toEqual(keys);
    const after = await t.s3.send(new ListObjectsV2Command({ Bucket: 'listing', StartAfter: 'b/1', Prefix: 'b/' }));
    expect(after.Contents?.map((c) => c.Key)).toEqual(['b/sub/2']);
  });

  it('copies and deletes (single and batch)', async () => {
    await t.s3.send(new CopyObjectCommand({ Bucket: 'data', Key: 'copy.csv', CopySource: 'data/dir/a.csv' }));
    const h = await t.s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'copy.csv' }));
    expect(h.Metadata).toEqual({ owner: 'me' });
    await t.s3.send(new DeleteObjectCommand({ Bucket: 'data', Key: 'copy.csv' }));
    await expect(t.s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'copy.csv' }))).rejects.toMatchObject({ name: 'NotFound' });
    const del = await t.s3.send(new DeleteObjectsCommand({ Bucket: 'data', Delete: { Objects: [{ Key: 'x' }, { Key: 'x/y' }] } }));
    expect(del.Deleted?.map((d) => d.Key).sort()).toEqual(['x', 'x/y']);
  });

  it('multipart upload via @aws-sdk/lib-storage Upload', async () => {
    const size = 11 * 1024 * 1024 + 123;
    const buf = Buffer.alloc(size);
    for (let i = 0; i < size; i++) buf[i] = (i * 31) & 0xff;
    const up = new Upload({
      client: t.s3,
      params: { Bucket: 'data', Key: 'big/blob.bin', Body: Readable.from([buf]), ContentType: 'application/octet-stream' },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
    });
    const res = await up.done();
    expect(res.ETag).toMatch(/-3"$/);
    const get = await t.s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'big/blob.bin' }));
    const back = Buffer.from(await get.Body!.transformToByteArray());
    expect(back.length).toBe(size);
    expect(createHash('md5').update(back).digest('hex')).toBe(createHash('md5').update(buf).digest('hex'));
  });

  it('virtual-host style addressing for bucket.localhost', async () => {
    const { request } = await import('node:http');
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: t.aws.port, path: '/dir/a.csv', headers: { Host: `data.localhost:${t.aws.port}` } }, (res) => {
        let s = '';
        res.on('data', (c: Buffer) => (s += c.toString()));
        res.on('end', () => resolve(s));
      });
      req.on('error', reject);
      req.end();
    });
    expect(body.startsWith('hello,world')).toBe(true);
  });
});
