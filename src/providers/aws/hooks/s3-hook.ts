/**
 * Airflow's S3Hook, the subset DAGs use around SageMaker jobs (staging training data, reading
 * predictions), with Airflow's names in camelCase and Airflow's semantics: keys may be given as
 * full `s3://bucket/key` URLs instead of a bucket; `loadFile` with replace=false refuses to
 * overwrite ("The key … already exists."); `checkForKey` is false on 404 and throws otherwise.
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { BucketLocationConstraint, PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import { InvalidInputError } from '../../../errors/invalid-input-error.ts';
import type { AwsClientFactory } from '../aws-clients.ts';
import { DEFAULT_AWS_CONN_ID } from '../aws-connection.ts';
import { isNotFound } from '../aws-errors.ts';
import { clientsForHook } from '../services.ts';
import { fenceCurrentTask } from '../../../services/task-scope.ts';
import { s3Sdk, s3StorageSdk } from '../sdk.ts';

export interface S3HookOptions {
  aws_conn_id?: string | null;
  region_name?: string | null;
  /**
   * Client factory. Default: the running task's (`ctx.services.awsClients`, found through the task
   * scope), so `new S3Hook({ aws_conn_id })` inside a task resolves connections as its process does.
   */
  clients?: AwsClientFactory;
}

export interface LoadOptions {
  replace?: boolean;
  /** Server-side encryption (AES256), as Airflow's `encrypt`. */
  encrypt?: boolean;
  acl_policy?: string;
}

/** Above this, loadFile uses a multipart upload. */
const MULTIPART_THRESHOLD = 16 * 1024 * 1024;

export class S3Hook {
  readonly awsConnId: string | null;
  readonly regionName: string | null;
  private readonly clients: AwsClientFactory;

  constructor(opts: S3HookOptions = {}) {
    this.awsConnId = opts.aws_conn_id === undefined ? DEFAULT_AWS_CONN_ID : opts.aws_conn_id;
    this.regionName = opts.region_name ?? null;
    this.clients = opts.clients ?? clientsForHook();
  }

  get conn(): S3Client {
    return this.clients.s3(this.awsConnId, this.regionName);
  }

  /** Airflow's S3Hook.parse_s3_url: s3://, s3a://, s3n:// and the two https forms. */
  static parseS3Url(s3url: string): { bucket: string; key: string } {
    const sep = s3url.indexOf('//');
    const head = sep === -1 ? s3url : s3url.slice(0, sep);
    const tail = sep === -1 ? '' : s3url.slice(sep + 2);
    if (/^s3[na]?:/i.test(head)) {
      const slash = tail.indexOf('/');
      const bucket = slash === -1 ? tail : tail.slice(0, slash);
      if (!bucket) throw new InvalidInputError(`Please provide a bucket name using a valid format: "${s3url}"`);
      const rest = slash === -1 ? '' : tail.slice(slash);
      const q = rest.indexOf('?');
      return { bucket, key: (q === -1 ? rest : rest.slice(0, q)).replace(/^\/+/, '') };
    }
    if (head === 'https:') {
      const labels = tail.split('.');
      if (labels[0] === 's3') {
        // https://s3.region-code.amazonaws.com/bucket-name/key-name
        const parts = tail.split('/');
        if (parts.length < 3) throw new InvalidInputError(`Please provide a bucket name and key: "${s3url}"`);
        return { bucket: parts[1], key: parts.slice(2).join('/') };
      }
      if (labels[1] === 's3') {
        // https://bucket-name.s3.region-code.amazonaws.com/key-name
        const slash = tail.indexOf('/');
        return { bucket: labels[0], key: slash === -1 ? '' : tail.slice(slash + 1) };
      }
      throw new InvalidInputError(
        `Please provide a bucket name using a valid virtually hosted format which should be of the form: https://bucket-name.s3.region-code.amazonaws.com/key-name but provided: "${s3url}"`,
      );
    }
    throw new InvalidInputError(`Please provide a bucket name using a valid format of the form: s3://bucket-name/key-name but provided: "${s3url}"`);
  }

  /** Airflow's get_s3_bucket_key: a bucket, or a full URL in the key — never both. */
  static getS3BucketKey(bucket: string | null | undefined, key: string, bucketParam = 'bucket_name', keyParam = 'key'): { bucket: string; key: string } {
    if (!bucket) return S3Hook.parseS3Url(key);
    if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(key) || key.startsWith('//')) {
      throw new InvalidInputError(`If \`${keyParam}\` is provided as a full s3:// url, then \`${bucketParam}\` should not be passed.`);
    }
    return { bucket, key };
  }

  async checkForBucket(bucketName: string): Promise<boolean> {
    try {
      await this.conn.send(new (s3Sdk().HeadBucketCommand)({ Bucket: bucketName }));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** Creates the bucket (us-east-1 takes no LocationConstraint, as S3 requires). */
  async createBucket(bucketName: string, regionName?: string | null): Promise<void> {
    const region = regionName ?? (await this.clients.region(this.awsConnId, this.regionName));
    await fenceCurrentTask();
    await this.conn.send(
      new (s3Sdk().CreateBucketCommand)({
        Bucket: bucketName,
        ...(region && region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } } : {}),
      }),
    );
  }

  async checkForKey(key: string, bucketName?: string | null): Promise<boolean> {
    const loc = S3Hook.getS3BucketKey(bucketName, key);
    try {
      await this.conn.send(new (s3Sdk().HeadObjectCommand)({ Bucket: loc.bucket, Key: loc.key }));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** Keys under `prefix` (all pages). */
  async listKeys(bucketName: string, prefix = '', opts: { delimiter?: string; page_size?: number; max_items?: number } = {}): Promise<string[]> {
    const keys: string[] = [];
    const pages = s3Sdk().paginateListObjectsV2(
      { client: this.conn, ...(opts.page_size ? { pageSize: opts.page_size } : {}) },
      { Bucket: bucketName, Prefix: prefix, ...(opts.delimiter ? { Delimiter: opts.delimiter } : {}) },
    );
    for await (const page of pages) {
      for (const o of page.Contents ?? []) {
        if (o.Key !== undefined) keys.push(o.Key);
        if (opts.max_items && keys.length >= opts.max_items) return keys;
      }
    }
    return keys;
  }

  async readKey(key: string, bucketName?: string | null): Promise<string> {
    return (await this.readKeyBytes(key, bucketName)).toString('utf8');
  }

  async readKeyBytes(key: string, bucketName?: string | null): Promise<Buffer> {
    const loc = S3Hook.getS3BucketKey(bucketName, key);
    const out = await this.conn.send(new (s3Sdk().GetObjectCommand)({ Bucket: loc.bucket, Key: loc.key }));
    if (!out.Body) return Buffer.alloc(0);
    return Buffer.from(await out.Body.transformToByteArray());
  }

  /** `replace` may be passed positionally as in Airflow (`load_file(filename, key, bucket, True)`). */
  async loadFile(filename: string, key: string, bucketName?: string | null, replaceOrOpts: boolean | (LoadOptions & { gzip?: boolean }) = {}): Promise<void> {
    const opts = loadOptions(replaceOrOpts);
    const loc = await this.checkWritable(key, bucketName, opts.replace ?? false);
    const extra = putExtras(opts);
    // Lease fencing (issue 14.0): inside a worker's try, only while the try owns its task instance.
    await fenceCurrentTask();
    if (opts.gzip) {
      await this.conn.send(new (s3Sdk().PutObjectCommand)({ ...extra, Bucket: loc.bucket, Key: loc.key, Body: gzipSync(readFileSync(filename)) }));
      return;
    }
    const size = statSync(filename).size;
    if (size <= MULTIPART_THRESHOLD) {
      await this.conn.send(
        new (s3Sdk().PutObjectCommand)({ ...extra, Bucket: loc.bucket, Key: loc.key, Body: createReadStream(filename), ContentLength: size }),
      );
      return;
    }
    await new (s3StorageSdk().Upload)({ client: this.conn, params: { ...extra, Bucket: loc.bucket, Key: loc.key, Body: createReadStream(filename) } }).done();
  }

  async loadString(
    stringData: string,
    key: string,
    bucketName?: string | null,
    replaceOrOpts: boolean | (LoadOptions & { encoding?: BufferEncoding; compression?: 'gzip' | null }) = {},
  ): Promise<void> {
    const opts = loadOptions(replaceOrOpts);
    let bytes = Buffer.from(stringData, opts.encoding ?? 'utf8');
    if (opts.compression === 'gzip') bytes = gzipSync(bytes);
    else if (opts.compression) throw new InvalidInputError(`Received ${opts.compression} compression type. String can currently be compressed in gzip only.`);
    await this.loadBytes(bytes, key, bucketName, opts);
  }

  async loadBytes(bytesData: Uint8Array, key: string, bucketName?: string | null, replaceOrOpts: boolean | LoadOptions = {}): Promise<void> {
    const opts = loadOptions(replaceOrOpts);
    const loc = await this.checkWritable(key, bucketName, opts.replace ?? false);
    // Lease fencing (issue 14.0): inside a worker's try, only while the try owns its task instance.
    await fenceCurrentTask();
    await this.conn.send(new (s3Sdk().PutObjectCommand)({ ...putExtras(opts), Bucket: loc.bucket, Key: loc.key, Body: bytesData }));
  }

  private async checkWritable(key: string, bucketName: string | null | undefined, replace: boolean): Promise<{ bucket: string; key: string }> {
    const loc = S3Hook.getS3BucketKey(bucketName, key);
    if (!replace && (await this.checkForKey(loc.key, loc.bucket))) {
      throw new InvalidInputError(`The key ${loc.key} already exists.`);
    }
    return loc;
  }
}

function loadOptions<T extends LoadOptions>(v: boolean | T): T {
  return (typeof v === 'boolean' ? { replace: v } : v) as T;
}

function putExtras(opts: LoadOptions): Partial<PutObjectCommandInput> {
  return {
    ...(opts.encrypt ? { ServerSideEncryption: 'AES256' as const } : {}),
    ...(opts.acl_policy ? { ACL: opts.acl_policy as PutObjectCommandInput['ACL'] } : {}),
  };
}
