/**
 * Disk-backed S3 object store with an in-memory sorted key index per bucket.
 * Object bytes live in `<segments>!obj`, metadata (content type, user
 * metadata, ETag, checksum) in the `<segments>!meta` sidecar. Every write goes
 * to a temp file and is renamed into place, so readers never see partial
 * objects. The index is rebuilt from the sidecars on start.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, rmdir, unlink, writeFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { AwsError } from '../errors.ts';
import { randomHex } from '../util.ts';
import { objectBasePath, validateBucketName } from './keys.ts';

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'SHA1' | 'SHA256' | 'CRC64NVME';

export interface ObjectMeta {
  key: string;
  size: number;
  /** Quoted, as S3 returns it. */
  etag: string;
  lastModified: number;
  contentType: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
  metadata: Record<string, string>;
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
  partsCount?: number;
}

export interface BucketInfo {
  name: string;
  creationDate: number;
  region: string;
}

export type PutMeta = Omit<ObjectMeta, 'key' | 'size' | 'etag' | 'lastModified' | 'checksum' | 'partsCount'>;

export interface PutOptions {
  contentMd5?: string;
  /** Checksum to compute; if `expected` is set it must match (else BadDigest). */
  checksum?: { algorithm: ChecksumAlgorithm; expected?: string };
}

interface UploadState {
  uploadId: string;
  bucket: string;
  key: string;
  meta: PutMeta;
  initiated: number;
  checksumAlgorithm?: ChecksumAlgorithm;
}

export interface PartInfo {
  partNumber: number;
  etag: string;
  size: number;
  lastModified: number;
  checksum?: string;
}

export interface ListResult {
  contents: ObjectMeta[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** Last key or common prefix returned, for the continuation token / NextMarker. */
  last?: string;
}

/** Hashes bytes as they stream through: MD5 for the ETag plus the optional flexible checksum. */
class Hasher extends Transform {
  readonly md5 = createHash('md5');
  size = 0;
  private crc = 0;
  private readonly sha: ReturnType<typeof createHash> | null;

  constructor(private readonly algorithm?: ChecksumAlgorithm) {
    super();
    this.sha = algorithm === 'SHA1' ? createHash('sha1') : algorithm === 'SHA256' ? createHash('sha256') : null;
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.md5.update(chunk);
    this.size += chunk.length;
    if (this.algorithm === 'CRC32') this.crc = crc32(chunk, this.crc);
    this.sha?.update(chunk);
    cb(null, chunk);
  }

  /** base64 checksum, or undefined for algorithms Node cannot compute (CRC32C, CRC64NVME). */
  checksum(): string | undefined {
    if (this.algorithm === 'CRC32') {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(this.crc >>> 0);
      return b.toString('base64');
    }
    return this.sha?.digest('base64');
  }
}

function sortedInsert(arr: string[], key: string): void {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  if (arr[lo] !== key) arr.splice(lo, 0, key);
}

function lowerBound(arr: string[], key: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface BucketIndex {
  info: BucketInfo;
  objects: Map<string, ObjectMeta>;
  keys: string[];
}

const noSuchBucket = (b: string) => new AwsError('NoSuchBucket', 'The specified bucket does not exist', { status: 404, fields: { BucketName: b } });
const noSuchKey = (k: string) => new AwsError('NoSuchKey', 'The specified key does not exist.', { status: 404, fields: { Key: k } });
const noSuchUpload = (id: string) =>
  new AwsError('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', {
    status: 404,
    fields: { UploadId: id },
  });

export class S3Store {
  private buckets = new Map<string, BucketIndex>();
  private uploads = new Map<string, UploadState>();
  private readonly tmpDir: string;
  private readonly mpDir: string;

  constructor(private readonly root: string) {
    this.tmpDir = join(root, '.tmp');
    this.mpDir = join(root, '.multipart');
    mkdirSync(this.tmpDir, { recursive: true });
    mkdirSync(this.mpDir, { recursive: true });
    this.loadIndex();
  }

  // ------------------------------------------------------------ buckets

  private bucketDir(name: string): string {
    return join(this.root, name);
  }

  private loadIndex(): void {
    for (const ent of readdirSync(this.root, { withFileTypes: true })) {
      if (!ent.isDirectory() || ent.name.startsWith('.')) continue;
      const dir = this.bucketDir(ent.name);
      let info: BucketInfo = { name: ent.name, creationDate: statSync(dir).mtimeMs, region: 'us-east-1' };
      try {
        info = { ...info, ...(JSON.parse(readFileSync(join(dir, '!bucket'), 'utf8')) as Partial<BucketInfo>) };
      } catch {
        /* bucket created by hand: defaults */
      }
      const idx: BucketIndex = { info, objects: new Map(), keys: [] };
      const walk = (d: string) => {
        for (const e of readdirSync(d, { withFileTypes: true })) {
          const p = join(d, e.name);
          if (e.isDirectory()) walk(p);
          else if (e.name.endsWith('!meta')) {
            try {
              const m = JSON.parse(readFileSync(p, 'utf8')) as ObjectMeta;
              if (existsSync(p.slice(0, -'!meta'.length) + '!obj')) idx.objects.set(m.key, m);
            } catch {
              /* skip unreadable sidecar */
            }
          }
        }
      };
      walk(dir);
      idx.keys = [...idx.objects.keys()].sort();
      this.buckets.set(ent.name, idx);
    }
    for (const ent of readdirSync(this.mpDir, { withFileTypes: true })) {
      if (!ent.isDirectory()) continue;
      try {
        const u = JSON.parse(readFileSync(join(this.mpDir, ent.name, 'upload.json'), 'utf8')) as UploadState;
        this.uploads.set(u.uploadId, u);
      } catch {
        /* ignore */
      }
    }
  }

  listBuckets(): BucketInfo[] {
    return [...this.buckets.values()].map((b) => b.info).sort((a, b) => a.name.localeCompare(b.name));
  }

  hasBucket(name: string): boolean {
    return this.buckets.has(name);
  }

  getBucket(name: string): BucketInfo {
    const b = this.buckets.get(name);
    if (!b) throw noSuchBucket(name);
    return b.info;
  }

  async createBucket(name: string, region: string): Promise<BucketInfo> {
    validateBucketName(name);
    const existing = this.buckets.get(name);
    // us-east-1 keeps S3's legacy answer: creating a bucket you already own there succeeds (200)
    // and changes nothing; every other region answers 409 BucketAlreadyOwnedByYou.
    if (existing && existing.info.region === 'us-east-1' && region === 'us-east-1') return existing.info;
    if (existing) {
      throw new AwsError('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', {
        status: 409,
        fields: { BucketName: name },
      });
    }
    const info: BucketInfo = { name, creationDate: Date.now(), region };
    await mkdir(this.bucketDir(name), { recursive: true });
    await writeFile(join(this.bucketDir(name), '!bucket'), JSON.stringify(info));
    this.buckets.set(name, { info, objects: new Map(), keys: [] });
    return info;
  }

  async deleteBucket(name: string): Promise<void> {
    const b = this.index(name);
    if (b.keys.length > 0) {
      throw new AwsError('BucketNotEmpty', 'The bucket you tried to delete is not empty', { status: 409, fields: { BucketName: name } });
    }
    this.buckets.delete(name);
    await rm(this.bucketDir(name), { recursive: true, force: true });
  }

  private index(bucket: string): BucketIndex {
    const b = this.buckets.get(bucket);
    if (!b) throw noSuchBucket(bucket);
    return b;
  }

  // ------------------------------------------------------------ objects

  head(bucket: string, key: string): ObjectMeta {
    const m = this.index(bucket).objects.get(key);
    if (!m) throw noSuchKey(key);
    return m;
  }

  tryHead(bucket: string, key: string): ObjectMeta | undefined {
    return this.buckets.get(bucket)?.objects.get(key);
  }

  private paths(bucket: string, key: string): { obj: string; meta: string } {
    const base = objectBasePath(this.bucketDir(bucket), key);
    return { obj: `${base}!obj`, meta: `${base}!meta` };
  }

  /** Validates a key up front (before consuming a body), throwing the S3 error. */
  checkKey(bucket: string, key: string): void {
    this.index(bucket);
    this.paths(bucket, key);
  }

  async put(bucket: string, key: string, body: Readable | Buffer | string, meta: PutMeta, opts: PutOptions = {}): Promise<ObjectMeta> {
    const idx = this.index(bucket);
    const paths = this.paths(bucket, key);
    const tmp = join(this.tmpDir, randomHex(12));
    const hasher = new Hasher(opts.checksum?.algorithm);
    const src = Buffer.isBuffer(body) || typeof body === 'string' ? Readable.from([Buffer.from(body)]) : body;
    try {
      await pipeline(src, hasher, createWriteStream(tmp));
      const md5 = hasher.md5.digest();
      if (opts.contentMd5 !== undefined && md5.toString('base64') !== opts.contentMd5) {
        throw new AwsError('BadDigest', 'The Content-MD5 you specified did not match what we received.');
      }
      let checksum: ObjectMeta['checksum'];
      if (opts.checksum) {
        const computed = hasher.checksum();
        const { algorithm, expected } = opts.checksum;
        if (expected !== undefined && computed !== undefined && computed !== expected) {
          throw new AwsError('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`);
        }
        const value = computed ?? expected;
        if (value) checksum = { algorithm, value };
      }
      const m: ObjectMeta = { ...meta, key, size: hasher.size, etag: `"${md5.toString('hex')}"`, lastModified: Date.now(), checksum };
      await this.commit(idx, paths, tmp, m);
      return m;
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
  }

  private async commit(idx: BucketIndex, paths: { obj: string; meta: string }, tmpObj: string, m: ObjectMeta): Promise<void> {
    await mkdir(dirname(paths.obj), { recursive: true });
    const tmpMeta = `${tmpObj}.meta`;
    await writeFile(tmpMeta, JSON.stringify(m));
    await rename(tmpObj, paths.obj);
    await rename(tmpMeta, paths.meta);
    idx.objects.set(m.key, m);
    sortedInsert(idx.keys, m.key);
  }

  async getBuffer(bucket: string, key: string): Promise<Buffer> {
    this.head(bucket, key);
    return readFile(this.paths(bucket, key).obj);
  }

  readStream(bucket: string, key: string, range?: { start: number; end: number }): Readable {
    this.head(bucket, key);
    return createReadStream(this.paths(bucket, key).obj, range ? { start: range.start, end: range.end } : undefined);
  }

  async copy(srcBucket: string, srcKey: string, dstBucket: string, dstKey: string, meta: PutMeta | null): Promise<ObjectMeta> {
    const src = this.head(srcBucket, srcKey);
    const idx = this.index(dstBucket);
    const paths = this.paths(dstBucket, dstKey);
    const tmp = join(this.tmpDir, randomHex(12));
    await pipeline(createReadStream(this.paths(srcBucket, srcKey).obj), createWriteStream(tmp));
    const base: PutMeta = meta ?? {
      contentType: src.contentType,
      contentEncoding: src.contentEncoding,
      contentDisposition: src.contentDisposition,
      contentLanguage: src.contentLanguage,
      cacheControl: src.cacheControl,
      expires: src.expires,
      metadata: { ...src.metadata },
    };
    const m: ObjectMeta = {
      ...base,
      key: dstKey,
      size: src.size,
      etag: src.etag,
      lastModified: Date.now(),
      checksum: src.checksum,
      partsCount: src.partsCount,
    };
    await this.commit(idx, paths, tmp, m);
    return m;
  }

  async delete(bucket: string, key: string): Promise<void> {
    const idx = this.index(bucket);
    if (!idx.objects.has(key)) return; // S3 deletes are idempotent
    const paths = this.paths(bucket, key);
    idx.objects.delete(key);
    const i = lowerBound(idx.keys, key);
    if (idx.keys[i] === key) idx.keys.splice(i, 1);
    await unlink(paths.obj).catch(() => {});
    await unlink(paths.meta).catch(() => {});
    // Best-effort cleanup of now-empty directories, up to the bucket root.
    let d = dirname(paths.obj);
    const stop = this.bucketDir(bucket);
    while (d.startsWith(stop) && d !== stop) {
      try {
        await rmdir(d);
      } catch {
        break;
      }
      d = dirname(d);
    }
  }

  /** ListObjects(V2) core: keys after `startAfter` under `prefix`, grouped by `delimiter`. */
  list(bucket: string, opts: { prefix?: string; delimiter?: string; startAfter?: string; maxKeys: number }): ListResult {
    const idx = this.index(bucket);
    const prefix = opts.prefix ?? '';
    const delimiter = opts.delimiter || undefined;
    const startAfter = opts.startAfter ?? '';
    let i = lowerBound(idx.keys, prefix > startAfter ? prefix : startAfter);
    const contents: ObjectMeta[] = [];
    const commonPrefixes: string[] = [];
    let last: string | undefined;
    let count = 0;
    for (; i < idx.keys.length; i++) {
      const key = idx.keys[i];
      if (key <= startAfter) continue;
      if (!key.startsWith(prefix)) break;
      if (delimiter) {
        const d = key.indexOf(delimiter, prefix.length);
        if (d >= 0) {
          const cp = key.slice(0, d + delimiter.length);
          if (cp === last) continue;
          if (cp <= startAfter) continue;
          if (count >= opts.maxKeys) return { contents, commonPrefixes, isTruncated: true, last };
          commonPrefixes.push(cp);
          last = cp;
          count++;
          continue;
        }
      }
      if (count >= opts.maxKeys) return { contents, commonPrefixes, isTruncated: true, last };
      contents.push(idx.objects.get(key)!);
      last = key;
      count++;
    }
    return { contents, commonPrefixes, isTruncated: false, last };
  }

  /** Objects under an `s3://bucket/prefix` (S3Prefix) or exactly that key (S3Object), for job inputs. */
  resolveInputs(bucket: string, keyOrPrefix: string, type: 'S3Prefix' | 'S3Object'): ObjectMeta[] {
    if (type === 'S3Object') return [this.head(bucket, keyOrPrefix)];
    const out: ObjectMeta[] = [];
    let startAfter: string | undefined;
    for (;;) {
      const r = this.list(bucket, { prefix: keyOrPrefix, startAfter, maxKeys: 1000 });
      out.push(...r.contents.filter((m) => !m.key.endsWith('/')));
      if (!r.isTruncated) break;
      startAfter = r.last;
    }
    return out;
  }

  // ------------------------------------------------------------ multipart

  async createUpload(bucket: string, key: string, meta: PutMeta, checksumAlgorithm?: ChecksumAlgorithm): Promise<string> {
    this.checkKey(bucket, key);
    const uploadId = randomHex(24);
    const u: UploadState = { uploadId, bucket, key, meta, initiated: Date.now(), checksumAlgorithm };
    await mkdir(join(this.mpDir, uploadId), { recursive: true });
    await writeFile(join(this.mpDir, uploadId, 'upload.json'), JSON.stringify(u));
    this.uploads.set(uploadId, u);
    return uploadId;
  }

  private upload(bucket: string, key: string, uploadId: string): UploadState {
    const u = this.uploads.get(uploadId);
    if (!u || u.bucket !== bucket || u.key !== key) throw noSuchUpload(uploadId);
    return u;
  }

  async uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Readable, opts: PutOptions = {}): Promise<PartInfo> {
    this.upload(bucket, key, uploadId);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) {
      throw new AwsError('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { fields: { ArgumentName: 'partNumber' } });
    }
    const dir = join(this.mpDir, uploadId);
    const tmp = join(this.tmpDir, randomHex(12));
    const hasher = new Hasher(opts.checksum?.algorithm);
    try {
      await pipeline(body, hasher, createWriteStream(tmp));
      const md5 = hasher.md5.digest();
      if (opts.contentMd5 !== undefined && md5.toString('base64') !== opts.contentMd5) {
        throw new AwsError('BadDigest', 'The Content-MD5 you specified did not match what we received.');
      }
      const computed = hasher.checksum();
      if (opts.checksum?.expected !== undefined && computed !== undefined && computed !== opts.checksum.expected) {
        throw new AwsError('BadDigest', `The ${opts.checksum.algorithm} you specified did not match the calculated checksum.`);
      }
      const info: PartInfo = {
        partNumber,
        etag: `"${md5.toString('hex')}"`,
        size: hasher.size,
        lastModified: Date.now(),
        checksum: computed ?? opts.checksum?.expected,
      };
      await rename(tmp, join(dir, String(partNumber)));
      await writeFile(join(dir, `${partNumber}.json`), JSON.stringify(info));
      return info;
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
  }

  async listParts(bucket: string, key: string, uploadId: string): Promise<PartInfo[]> {
    this.upload(bucket, key, uploadId);
    const dir = join(this.mpDir, uploadId);
    const parts: PartInfo[] = [];
    for (const f of await readdir(dir)) {
      if (!/^\d+\.json$/.test(f)) continue;
      parts.push(JSON.parse(await readFile(join(dir, f), 'utf8')) as PartInfo);
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async completeUpload(bucket: string, key: string, uploadId: string, requested: Array<{ partNumber: number; etag: string }>): Promise<ObjectMeta> {
    const u = this.upload(bucket, key, uploadId);
    const idx = this.index(bucket);
    if (requested.length === 0) throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    const have = new Map((await this.listParts(bucket, key, uploadId)).map((p) => [p.partNumber, p]));
    const parts: PartInfo[] = [];
    let prev = 0;
    for (const r of requested) {
      if (r.partNumber <= prev)
        throw new AwsError('InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.');
      prev = r.partNumber;
      const p = have.get(r.partNumber);
      const norm = (e: string) => e.replace(/^"|"$/g, '');
      if (!p || norm(p.etag) !== norm(r.etag)) {
        throw new AwsError(
          'InvalidPart',
          "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag.",
          {
            fields: { UploadId: uploadId, PartNumber: r.partNumber },
          },
        );
      }
      parts.push(p);
    }
    for (let i = 0; i < parts.length - 1; i++) {
      if (parts[i].size < 5 * 1024 * 1024) {
        throw new AwsError('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', {
          fields: { ProposedSize: parts[i].size, MinSizeAllowed: 5 * 1024 * 1024, PartNumber: parts[i].partNumber },
        });
      }
    }
    const dir = join(this.mpDir, uploadId);
    const tmp = join(this.tmpDir, randomHex(12));
    const out = createWriteStream(tmp);
    const md5s: Buffer[] = [];
    let size = 0;
    for (const p of parts) {
      await pipeline(createReadStream(join(dir, String(p.partNumber))), out, { end: false });
      md5s.push(Buffer.from(p.etag.replace(/"/g, ''), 'hex'));
      size += p.size;
    }
    await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
    const etag = `"${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${parts.length}"`;
    const m: ObjectMeta = { ...u.meta, key, size, etag, lastModified: Date.now(), partsCount: parts.length };
    await this.commit(idx, this.paths(bucket, key), tmp, m);
    this.uploads.delete(uploadId);
    await rm(dir, { recursive: true, force: true });
    return m;
  }

  async abortUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    this.upload(bucket, key, uploadId);
    this.uploads.delete(uploadId);
    await rm(join(this.mpDir, uploadId), { recursive: true, force: true });
  }

  listUploads(bucket: string): UploadState[] {
    this.index(bucket);
    return [...this.uploads.values()].filter((u) => u.bucket === bucket).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.initiated - b.initiated));
  }
}

/** Parses `s3://bucket/key` (also `https://bucket.s3...amazonaws.com/key` forms SageMaker accepts). */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri) ?? /^https:\/\/([^./]+)\.s3[.-][^/]*\/?(.*)$/.exec(uri);
  if (!m) throw new AwsError('ValidationException', `Invalid S3 URI: ${uri}`);
  return { bucket: m[1], key: m[2] };
}
