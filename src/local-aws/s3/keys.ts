/**
 * Mapping S3 keys to files without ever leaving the bucket directory.
 *
 * S3 keys are flat strings, but the store keeps one file per object under
 * `<dataDir>/s3/<bucket>/` so that objects are inspectable on disk. Two keys
 * like `a` and `a/b` would collide if used as raw paths (file vs directory),
 * so every path segment is escaped (`%` and `!` percent-encoded, an empty
 * segment becomes `%`) and the object's files get suffixes containing `!`
 * (`<segments>!obj`, `<segments>!meta`) that no escaped segment can contain.
 * Keys with `.`/`..` segments, a leading `/`, or NUL are rejected outright:
 * they are how a key would try to escape the bucket directory.
 */
import { join, resolve, sep } from 'node:path';
import { AwsError } from '../errors.ts';

export const BUCKET_NAME_RE = /^(?!\d+\.\d+\.\d+\.\d+$)(?!xn--)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function validateBucketName(name: string): void {
  if (!BUCKET_NAME_RE.test(name) || name.includes('..')) {
    throw new AwsError('InvalidBucketName', 'The specified bucket is not valid.', { fields: { BucketName: name } });
  }
}

function invalidKey(key: string, why: string): AwsError {
  return new AwsError('InvalidArgument', `Invalid object key: ${why}`, { fields: { ArgumentName: 'key', ArgumentValue: key } });
}

export function validateKey(key: string): void {
  if (key.length === 0) throw invalidKey(key, 'empty key');
  if (Buffer.byteLength(key) > 1024)
    throw new AwsError('KeyTooLongError', 'Your key is too long', { fields: { Size: Buffer.byteLength(key), MaxSizeAllowed: 1024 } });
  if (key.includes('\0')) throw invalidKey(key, 'NUL character');
  if (key.startsWith('/')) throw invalidKey(key, 'absolute paths are not allowed');
  for (const seg of key.split('/')) {
    if (seg === '.' || seg === '..') throw invalidKey(key, 'path segments "." and ".." are not allowed (they would escape the bucket directory)');
    // The escaped segment plus the longest suffix must fit a 255-byte file name.
    if (Buffer.byteLength(seg) > 200)
      throw new AwsError('KeyTooLongError', 'Local AWS stores each key segment as a file name; segments longer than 200 bytes are not supported');
  }
}

function escapeSegment(seg: string): string {
  if (seg === '') return '%';
  return seg.replace(/%/g, '%25').replace(/!/g, '%21');
}

export function unescapeSegment(seg: string): string {
  if (seg === '%') return '';
  return seg.replace(/%21/g, '!').replace(/%25/g, '%');
}

/** Base path (without suffix) of an object's files; validated to stay inside `bucketDir`. */
export function objectBasePath(bucketDir: string, key: string): string {
  validateKey(key);
  const p = join(bucketDir, ...key.split('/').map(escapeSegment));
  const root = resolve(bucketDir) + sep;
  if (!resolve(p).startsWith(root)) throw invalidKey(key, 'resolves outside the bucket');
  return p;
}
