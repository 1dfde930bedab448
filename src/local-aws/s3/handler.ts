/**
 * S3 REST/XML protocol (path-style `/bucket/key`, and virtual-host style when
 * Host is `bucket.localhost:port`). Operations are selected the way S3 does:
 * by method, by whether a key is present, and by sub-resource query
 * parameters (`?uploads`, `?uploadId=`, `?delete`, `?list-type=2`, ...).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { XMLParser } from 'fast-xml-parser';
import { AwsError, s3ErrorXml, xmlEscape } from '../errors.ts';
import { header, readBody, send } from '../http.ts';
import { AwsChunkedDecoder } from './chunked.ts';
import type { ChecksumAlgorithm, ObjectMeta, PutMeta, S3Store } from './store.ts';

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';
const xmlParser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, isArray: (name) => ['Object', 'Part'].includes(name) });

export interface S3Context {
  store: S3Store;
  region: string;
  requestId: string;
  baseUrl: string;
}

const iso = (ms: number) => new Date(ms).toISOString();
const CHECKSUM_HEADERS: Array<[ChecksumAlgorithm, string]> = [
  ['CRC32', 'x-amz-checksum-crc32'],
  ['CRC32C', 'x-amz-checksum-crc32c'],
  ['SHA1', 'x-amz-checksum-sha1'],
  ['SHA256', 'x-amz-checksum-sha256'],
  ['CRC64NVME', 'x-amz-checksum-crc64nvme'],
];

function baseHeaders(ctx: S3Context): Record<string, string> {
  return { 'x-amz-request-id': ctx.requestId, 'x-amz-id-2': ctx.requestId, Server: 'LocalAWS-S3' };
}

function sendXml(res: ServerResponse, ctx: S3Context, status: number, xml: string, extra: Record<string, string> = {}): void {
  send(res, status, { ...baseHeaders(ctx), 'Content-Type': 'application/xml', ...extra }, XML_HEAD + xml);
}

export function sendS3Error(req: IncomingMessage, res: ServerResponse, requestId: string, err: AwsError): void {
  const headers: Record<string, string> = { 'x-amz-request-id': requestId, 'x-amz-id-2': requestId, ...err.headers };
  // HEAD responses carry no body; the SDK maps the bare status (404 -> NotFound).
  if (req.method === 'HEAD') {
    send(res, err.status, headers);
    return;
  }
  send(res, err.status, { ...headers, 'Content-Type': 'application/xml' }, s3ErrorXml(err, requestId));
}

/** Splits the request into bucket and key, honouring virtual-host style for `*.localhost`. */
export function parseS3Target(req: IncomingMessage, rawPath: string): { bucket?: string; key?: string } {
  const host = (header(req, 'host') ?? '').replace(/:\d+$/, '');
  const vh = /^([a-z0-9.-]+)\.localhost$/.exec(host);
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new AwsError('InvalidURI', "Couldn't parse the specified URI.");
    }
  };
  if (vh && vh[1] !== 's3') {
    const key = rawPath.length > 1 ? decode(rawPath.slice(1)) : undefined;
    return { bucket: vh[1], key };
  }
  const m = /^\/([^/]*)(?:\/(.*))?$/s.exec(rawPath);
  if (!m || m[1] === '') return {};
  return { bucket: decode(m[1]), key: m[2] !== undefined && m[2] !== '' ? decode(m[2]) : undefined };
}

/** Body stream with aws-chunked decoding applied when the SDK used it. */
function bodyStream(req: IncomingMessage): { stream: Readable; decoder?: AwsChunkedDecoder } {
  const enc = header(req, 'content-encoding') ?? '';
  const sha = header(req, 'x-amz-content-sha256') ?? '';
  if (
    enc
      .split(',')
      .map((s) => s.trim())
      .includes('aws-chunked') ||
    sha.startsWith('STREAMING-')
  ) {
    const decoder = new AwsChunkedDecoder();
    req.on('error', (e) => decoder.destroy(e));
    return { stream: req.pipe(decoder), decoder };
  }
  return { stream: req };
}

/** Which flexible checksum the request carries: a header value now, or a trailer to verify after the body. */
function requestedChecksum(req: IncomingMessage): { algorithm: ChecksumAlgorithm; header: string; value?: string } | undefined {
  const trailer = (header(req, 'x-amz-trailer') ?? '').toLowerCase();
  for (const [algorithm, h] of CHECKSUM_HEADERS) {
    const v = header(req, h);
    if (v) return { algorithm, header: h, value: v };
    if (trailer === h) return { algorithm, header: h };
  }
  const alg = (header(req, 'x-amz-sdk-checksum-algorithm') ?? header(req, 'x-amz-checksum-algorithm'))?.toUpperCase();
  const found = CHECKSUM_HEADERS.find(([a]) => a === alg);
  return found ? { algorithm: found[0], header: found[1] } : undefined;
}

function putMetaFrom(req: IncomingMessage): PutMeta {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (k.startsWith('x-amz-meta-') && typeof v === 'string') metadata[k.slice('x-amz-meta-'.length)] = v;
  }
  const opt = (n: string) => header(req, n) || undefined;
  const enc = (header(req, 'content-encoding') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && s !== 'aws-chunked')
    .join(', ');
  return {
    contentType: header(req, 'content-type') || 'binary/octet-stream',
    contentEncoding: enc || undefined,
    contentDisposition: opt('content-disposition'),
    contentLanguage: opt('content-language'),
    cacheControl: opt('cache-control'),
    expires: opt('expires'),
    metadata,
  };
}

function objectHeaders(m: ObjectMeta, withChecksum: boolean): Record<string, string> {
  const h: Record<string, string> = {
    ETag: m.etag,
    'Last-Modified': new Date(m.lastModified).toUTCString(),
    'Content-Type': m.contentType,
    'Accept-Ranges': 'bytes',
  };
  if (m.contentEncoding) h['Content-Encoding'] = m.contentEncoding;
  if (m.contentDisposition) h['Content-Disposition'] = m.contentDisposition;
  if (m.contentLanguage) h['Content-Language'] = m.contentLanguage;
  if (m.cacheControl) h['Cache-Control'] = m.cacheControl;
  if (m.expires) h.Expires = m.expires;
  for (const [k, v] of Object.entries(m.metadata)) h[`x-amz-meta-${k}`] = v;
  if (m.partsCount) h['x-amz-mp-parts-count'] = String(m.partsCount);
  if (withChecksum && m.checksum) {
    const hh = CHECKSUM_HEADERS.find(([a]) => a === m.checksum!.algorithm);
    if (hh) {
      h[hh[1]] = m.checksum.value;
      h['x-amz-checksum-type'] = 'FULL_OBJECT';
    }
  }
  return h;
}

function parseRange(range: string, size: number): { start: number; end: number } | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // unsupported forms (multi-range) are ignored, like S3
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) throw invalidRange(size);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (start >= size || start > end) throw invalidRange(size);
  }
  return { start, end };
}

function invalidRange(size: number): AwsError {
  return new AwsError('InvalidRange', 'The requested range is not satisfiable', {
    status: 416,
    fields: { RangeRequested: '', ActualObjectSize: size },
    headers: { 'Content-Range': `bytes */${size}` },
  });
}

/** If-Match / If-None-Match / If-(Un)Modified-Since, as S3 evaluates them. */
function checkConditions(req: IncomingMessage, m: ObjectMeta): number | null {
  const ifMatch = header(req, 'if-match');
  const ifNone = header(req, 'if-none-match');
  const ims = header(req, 'if-modified-since');
  const ius = header(req, 'if-unmodified-since');
  const etagIn = (list: string) =>
    list
      .split(',')
      .map((s) => s.trim())
      .some((e) => e === '*' || e.replace(/"/g, '') === m.etag.replace(/"/g, ''));
  if (ifMatch && !etagIn(ifMatch)) return 412;
  if (!ifMatch && ius && m.lastModified > Date.parse(ius) + 999) return 412;
  if (ifNone && etagIn(ifNone)) return 304;
  if (!ifNone && ims && m.lastModified <= Date.parse(ims) + 999) return 304;
  return null;
}

export async function handleS3(req: IncomingMessage, res: ServerResponse, url: URL, rawPath: string, ctx: S3Context): Promise<void> {
  const { store } = ctx;
  const method = req.method ?? 'GET';
  const q = url.searchParams;
  const { bucket, key } = parseS3Target(req, rawPath);

  if (!bucket) {
    if (method === 'GET') return listBuckets(res, ctx);
    throw new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', { status: 405 });
  }

  if (key === undefined) {
    switch (method) {
      case 'PUT': {
        if (q.size > 0) {
          // Bucket sub-resources (tagging, versioning, policy...) are accepted and ignored.
          store.getBucket(bucket);
          await readBody(req);
          return send(res, 200, baseHeaders(ctx));
        }
        const body = (await readBody(req)).toString('utf8');
        const loc = /<LocationConstraint>([^<]*)<\/LocationConstraint>/.exec(body)?.[1];
        await store.createBucket(bucket, loc || ctx.region);
        return send(res, 200, { ...baseHeaders(ctx), Location: `/${bucket}` });
      }
      case 'HEAD': {
        const b = store.getBucket(bucket);
        return send(res, 200, { ...baseHeaders(ctx), 'x-amz-bucket-region': b.region });
      }
      case 'DELETE':
        if (q.size > 0) {
          store.getBucket(bucket);
          return send(res, 204, baseHeaders(ctx));
        }
        await store.deleteBucket(bucket);
        return send(res, 204, baseHeaders(ctx));
      case 'POST':
        if (q.has('delete')) return deleteObjects(req, res, bucket, ctx);
        break;
      case 'GET': {
        if (q.has('location')) {
          const b = store.getBucket(bucket);
          const loc = b.region === 'us-east-1' ? '' : xmlEscape(b.region);
          return sendXml(res, ctx, 200, `<LocationConstraint xmlns="${NS}">${loc}</LocationConstraint>`);
        }
        if (q.has('uploads')) return listUploads(res, bucket, ctx);
        if (q.has('versioning')) {
          store.getBucket(bucket);
          return sendXml(res, ctx, 200, `<VersioningConfiguration xmlns="${NS}"/>`);
        }
        return listObjects(res, bucket, q, ctx);
      }
    }
    throw new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', { status: 405 });
  }

  switch (method) {
    case 'PUT': {
      if (q.has('uploadId')) return uploadPart(req, res, bucket, key, q, ctx);
      if (q.has('tagging') || q.has('acl')) {
        store.head(bucket, key);
        await readBody(req);
        return send(res, 200, baseHeaders(ctx));
      }
      const copySource = header(req, 'x-amz-copy-source');
      if (copySource) return copyObject(req, res, bucket, key, copySource, ctx);
      return putObject(req, res, bucket, key, ctx);
    }
    case 'GET':
    case 'HEAD': {
      if (q.has('uploadId') && method === 'GET') return listParts(res, bucket, key, q.get('uploadId')!, ctx);
      return getObject(req, res, bucket, key, q, ctx, method === 'HEAD');
    }
    case 'DELETE':
      if (q.has('uploadId')) {
        await store.abortUpload(bucket, key, q.get('uploadId')!);
        return send(res, 204, baseHeaders(ctx));
      }
      store.getBucket(bucket);
      await store.delete(bucket, key);
      return send(res, 204, baseHeaders(ctx));
    case 'POST':
      if (q.has('uploads')) {
        store.getBucket(bucket);
        const cs = requestedChecksum(req);
        const uploadId = await store.createUpload(bucket, key, putMetaFrom(req), cs?.algorithm);
        const extra: Record<string, string> = cs ? { 'x-amz-checksum-algorithm': cs.algorithm } : {};
        return sendXml(
          res,
          ctx,
          200,
          `<InitiateMultipartUploadResult xmlns="${NS}"><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
          extra,
        );
      }
      if (q.has('uploadId')) return completeUpload(req, res, bucket, key, q.get('uploadId')!, ctx);
      break;
  }
  throw new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', { status: 405 });
}

function listBuckets(res: ServerResponse, ctx: S3Context): void {
  const items = ctx.store
    .listBuckets()
    .map(
      (b) =>
        `<Bucket><Name>${xmlEscape(b.name)}</Name><CreationDate>${iso(b.creationDate)}</CreationDate><BucketRegion>${xmlEscape(b.region)}</BucketRegion></Bucket>`,
    )
    .join('');
  sendXml(
    res,
    ctx,
    200,
    `<ListAllMyBucketsResult xmlns="${NS}"><Owner><ID>local</ID><DisplayName>local</DisplayName></Owner><Buckets>${items}</Buckets></ListAllMyBucketsResult>`,
  );
}

function listObjects(res: ServerResponse, bucket: string, q: URLSearchParams, ctx: S3Context): void {
  const v2 = q.get('list-type') === '2';
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const urlEnc = q.get('encoding-type') === 'url';
  const enc = (s: string) => xmlEscape(urlEnc ? encodeURIComponent(s).replace(/%2F/g, '/') : s);
  const maxKeysRaw = q.get('max-keys');
  const maxKeys = maxKeysRaw === null ? 1000 : Number(maxKeysRaw);
  if (!Number.isInteger(maxKeys) || maxKeys < 0)
    throw new AwsError('InvalidArgument', 'Provided max-keys not an integer or within integer range', {
      fields: { ArgumentName: 'max-keys', ArgumentValue: maxKeysRaw ?? '' },
    });
  const limit = Math.min(maxKeys, 1000);
  let startAfter: string | undefined;
  const token = q.get('continuation-token');
  if (v2) {
    if (token !== null) {
      try {
        startAfter = Buffer.from(token, 'base64url').toString('utf8');
      } catch {
        startAfter = undefined;
      }
      if (!startAfter)
        throw new AwsError('InvalidArgument', 'The continuation token provided is incorrect', { fields: { ArgumentName: 'continuation-token' } });
    } else startAfter = q.get('start-after') ?? undefined;
  } else startAfter = q.get('marker') ?? undefined;

  const r = ctx.store.list(bucket, { prefix, delimiter, startAfter, maxKeys: limit });
  const contents = r.contents
    .map(
      (m) =>
        `<Contents><Key>${enc(m.key)}</Key><LastModified>${iso(m.lastModified)}</LastModified><ETag>${xmlEscape(m.etag)}</ETag>` +
        `${m.checksum ? `<ChecksumAlgorithm>${m.checksum.algorithm}</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType>` : ''}` +
        `<Size>${m.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
    )
    .join('');
  const cps = r.commonPrefixes.map((p) => `<CommonPrefixes><Prefix>${enc(p)}</Prefix></CommonPrefixes>`).join('');
  let head = `<Name>${xmlEscape(bucket)}</Name><Prefix>${enc(prefix)}</Prefix>`;
  if (v2) {
    head += `<KeyCount>${r.contents.length + r.commonPrefixes.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys>`;
    if (delimiter) head += `<Delimiter>${enc(delimiter)}</Delimiter>`;
    head += `<IsTruncated>${r.isTruncated}</IsTruncated>`;
    if (token !== null) head += `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>`;
    if (r.isTruncated && r.last !== undefined) head += `<NextContinuationToken>${Buffer.from(r.last).toString('base64url')}</NextContinuationToken>`;
    const sa = q.get('start-after');
    if (sa !== null) head += `<StartAfter>${enc(sa)}</StartAfter>`;
  } else {
    head += `<Marker>${enc(q.get('marker') ?? '')}</Marker><MaxKeys>${maxKeys}</MaxKeys>`;
    if (delimiter) head += `<Delimiter>${enc(delimiter)}</Delimiter>`;
    head += `<IsTruncated>${r.isTruncated}</IsTruncated>`;
    if (r.isTruncated && delimiter && r.last !== undefined) head += `<NextMarker>${enc(r.last)}</NextMarker>`;
  }
  if (urlEnc) head += '<EncodingType>url</EncodingType>';
  sendXml(res, ctx, 200, `<ListBucketResult xmlns="${NS}">${head}${contents}${cps}</ListBucketResult>`);
}

async function putObject(req: IncomingMessage, res: ServerResponse, bucket: string, key: string, ctx: S3Context): Promise<void> {
  ctx.store.checkKey(bucket, key);
  const { stream, decoder } = bodyStream(req);
  const cs = requestedChecksum(req);
  // A trailer checksum is only known after the body; verify it then (the store verifies header values itself).
  const meta = await ctx.store.put(bucket, key, stream, putMetaFrom(req), {
    contentMd5: header(req, 'content-md5'),
    checksum: cs ? { algorithm: cs.algorithm, expected: cs.value } : undefined,
  });
  if (cs && !cs.value && decoder) {
    const trailerValue = decoder.trailers[cs.header];
    if (trailerValue && meta.checksum && meta.checksum.value !== trailerValue && ['CRC32', 'SHA1', 'SHA256'].includes(cs.algorithm)) {
      await ctx.store.delete(bucket, key);
      throw new AwsError('BadDigest', `The ${cs.algorithm} you specified did not match the calculated checksum.`);
    }
    if (trailerValue && !meta.checksum) meta.checksum = { algorithm: cs.algorithm, value: trailerValue };
  }
  const h: Record<string, string> = { ...baseHeaders(ctx), ETag: meta.etag };
  if (meta.checksum) {
    const hh = CHECKSUM_HEADERS.find(([a]) => a === meta.checksum!.algorithm);
    if (hh) h[hh[1]] = meta.checksum.value;
    h['x-amz-checksum-type'] = 'FULL_OBJECT';
  }
  send(res, 200, h);
}

async function uploadPart(req: IncomingMessage, res: ServerResponse, bucket: string, key: string, q: URLSearchParams, ctx: S3Context): Promise<void> {
  const { stream } = bodyStream(req);
  const cs = requestedChecksum(req);
  const part = await ctx.store.uploadPart(bucket, key, q.get('uploadId')!, Number(q.get('partNumber')), stream, {
    contentMd5: header(req, 'content-md5'),
    checksum: cs ? { algorithm: cs.algorithm, expected: cs.value } : undefined,
  });
  const h: Record<string, string> = { ...baseHeaders(ctx), ETag: part.etag };
  if (cs && part.checksum) h[cs.header] = part.checksum;
  send(res, 200, h);
}

async function completeUpload(req: IncomingMessage, res: ServerResponse, bucket: string, key: string, uploadId: string, ctx: S3Context): Promise<void> {
  const body = (await readBody(req)).toString('utf8');
  let parsed: unknown;
  try {
    parsed = xmlParser.parse(body);
  } catch {
    throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
  }
  const root = (parsed as { CompleteMultipartUpload?: { Part?: Array<{ PartNumber?: string; ETag?: string }> } }).CompleteMultipartUpload;
  const parts = (root?.Part ?? []).map((p) => ({ partNumber: Number(p.PartNumber), etag: String(p.ETag ?? '') }));
  const m = await ctx.store.completeUpload(bucket, key, uploadId, parts);
  const location = `${ctx.baseUrl}/${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
  sendXml(
    res,
    ctx,
    200,
    `<CompleteMultipartUploadResult xmlns="${NS}"><Location>${xmlEscape(location)}</Location><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><ETag>${xmlEscape(m.etag)}</ETag></CompleteMultipartUploadResult>`,
  );
}

async function listParts(res: ServerResponse, bucket: string, key: string, uploadId: string, ctx: S3Context): Promise<void> {
  const parts = await ctx.store.listParts(bucket, key, uploadId);
  const items = parts
    .map(
      (p) =>
        `<Part><PartNumber>${p.partNumber}</PartNumber><LastModified>${iso(p.lastModified)}</LastModified><ETag>${xmlEscape(p.etag)}</ETag><Size>${p.size}</Size></Part>`,
    )
    .join('');
  sendXml(
    res,
    ctx,
    200,
    `<ListPartsResult xmlns="${NS}"><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${uploadId}</UploadId><StorageClass>STANDARD</StorageClass><IsTruncated>false</IsTruncated>${items}</ListPartsResult>`,
  );
}

function listUploads(res: ServerResponse, bucket: string, ctx: S3Context): void {
  const items = ctx.store
    .listUploads(bucket)
    .map(
      (u) =>
        `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${u.uploadId}</UploadId><StorageClass>STANDARD</StorageClass><Initiated>${iso(u.initiated)}</Initiated></Upload>`,
    )
    .join('');
  sendXml(
    res,
    ctx,
    200,
    `<ListMultipartUploadsResult xmlns="${NS}"><Bucket>${xmlEscape(bucket)}</Bucket><IsTruncated>false</IsTruncated>${items}</ListMultipartUploadsResult>`,
  );
}

async function getObject(
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  key: string,
  q: URLSearchParams,
  ctx: S3Context,
  headOnly: boolean,
): Promise<void> {
  const m = ctx.store.head(bucket, key);
  const cond = checkConditions(req, m);
  if (cond === 304) return send(res, 304, { ...baseHeaders(ctx), ETag: m.etag, 'Last-Modified': new Date(m.lastModified).toUTCString() });
  if (cond === 412)
    throw new AwsError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
      status: 412,
      fields: { Condition: 'If-Match' },
    });
  const rangeHeader = header(req, 'range');
  const range = rangeHeader && m.size > 0 ? parseRange(rangeHeader, m.size) : null;
  const withChecksum = (header(req, 'x-amz-checksum-mode') ?? '').toUpperCase() === 'ENABLED' && !range;
  const h: Record<string, string> = { ...baseHeaders(ctx), ...objectHeaders(m, withChecksum) };
  // response-* query overrides (used by presigned URLs)
  for (const [qp, hn] of [
    ['response-content-type', 'Content-Type'],
    ['response-content-disposition', 'Content-Disposition'],
    ['response-cache-control', 'Cache-Control'],
    ['response-content-encoding', 'Content-Encoding'],
  ] as const) {
    const v = q.get(qp);
    if (v) h[hn] = v;
  }
  if (range) {
    h['Content-Range'] = `bytes ${range.start}-${range.end}/${m.size}`;
    h['Content-Length'] = String(range.end - range.start + 1);
  } else h['Content-Length'] = String(m.size);
  const status = range ? 206 : 200;
  if (headOnly) {
    res.writeHead(status, h);
    res.end();
    return;
  }
  res.writeHead(status, h);
  if (m.size === 0) {
    res.end();
    return;
  }
  const stream = ctx.store.readStream(bucket, key, range ?? undefined);
  await new Promise<void>((resolve) => {
    stream.on('error', () => {
      res.destroy();
      resolve();
    });
    res.on('close', () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(res);
  });
}

async function copyObject(req: IncomingMessage, res: ServerResponse, bucket: string, key: string, copySource: string, ctx: S3Context): Promise<void> {
  const src = decodeURIComponent(copySource.split('?')[0]).replace(/^\//, '');
  const slash = src.indexOf('/');
  if (slash <= 0)
    throw new AwsError('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', {
      fields: { ArgumentName: 'x-amz-copy-source' },
    });
  const srcBucket = src.slice(0, slash);
  const srcKey = src.slice(slash + 1);
  ctx.store.checkKey(bucket, key);
  const directive = (header(req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  const srcMeta = ctx.store.head(srcBucket, srcKey);
  if (srcBucket === bucket && srcKey === key && directive !== 'REPLACE') {
    throw new AwsError(
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  const cond = checkConditions(
    {
      headers: {
        'if-match': header(req, 'x-amz-copy-source-if-match'),
        'if-none-match': header(req, 'x-amz-copy-source-if-none-match'),
      },
    } as unknown as IncomingMessage,
    srcMeta,
  );
  if (cond) throw new AwsError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { status: 412 });
  const m = await ctx.store.copy(srcBucket, srcKey, bucket, key, directive === 'REPLACE' ? putMetaFrom(req) : null);
  await readBody(req);
  sendXml(
    res,
    ctx,
    200,
    `<CopyObjectResult xmlns="${NS}"><LastModified>${iso(m.lastModified)}</LastModified><ETag>${xmlEscape(m.etag)}</ETag></CopyObjectResult>`,
  );
}

async function deleteObjects(req: IncomingMessage, res: ServerResponse, bucket: string, ctx: S3Context): Promise<void> {
  ctx.store.getBucket(bucket);
  const body = (await readBody(req)).toString('utf8');
  let parsed: unknown;
  try {
    parsed = xmlParser.parse(body);
  } catch {
    throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
  }
  const root = (parsed as { Delete?: { Object?: Array<{ Key?: string }>; Quiet?: string } }).Delete;
  if (!root) throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
  const objects = root.Object ?? [];
  if (objects.length > 1000) throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
  const quiet = root.Quiet === 'true';
  let out = '';
  for (const o of objects) {
    const k = String(o.Key ?? '');
    try {
      ctx.store.checkKey(bucket, k);
      await ctx.store.delete(bucket, k);
      if (!quiet) out += `<Deleted><Key>${xmlEscape(k)}</Key></Deleted>`;
    } catch (e) {
      const err = e instanceof AwsError ? e : new AwsError('InternalError', String(e), { status: 500 });
      out += `<Error><Key>${xmlEscape(k)}</Key><Code>${err.code}</Code><Message>${xmlEscape(err.message)}</Message></Error>`;
    }
  }
  sendXml(res, ctx, 200, `<DeleteResult xmlns="${NS}">${out}</DeleteResult>`);
}
