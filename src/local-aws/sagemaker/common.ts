/**
 * Shared SageMaker plumbing: the dependencies every resource module uses, ARNs,
 * timestamp conversion for the API (epoch seconds) and for events (epoch
 * millis), and the generic List* engine (filters, sort, NextToken).
 */
import type { Logger } from 'pino';
import type { Faults } from '../config.ts';
import { validationError } from '../errors.ts';
import type { EventBusService } from '../eventbridge/bus.ts';
import type { ProcessRunner } from '../jobs/runner.ts';
import type { LogsStore } from '../logs/store.ts';
import { parseS3Uri, type S3Store } from '../s3/store.ts';
import type { Scheduler } from '../scheduler.ts';
import type { ScriptImage } from '../types.ts';
import { decodeToken, encodeToken, isObject, optNumber, optString, timestampMs, type JsonObject } from '../util.ts';
import { Validator } from './validation.ts';

export interface SageMakerDeps {
  region: string;
  accountId: string;
  dataDir: string;
  s3: S3Store;
  logs: LogsStore;
  bus: EventBusService;
  scheduler: Scheduler;
  faults: Faults;
  runner: ProcessRunner;
  logger: Logger;
  scriptImages: Record<string, ScriptImage>;
  markDirty(): void;
}

export type Rec = Record<string, unknown>;
export interface Tag {
  Key: string;
  Value: string;
}

export function arn(d: Pick<SageMakerDeps, 'region' | 'accountId'>, type: string, name: string): string {
  return `arn:aws:sagemaker:${d.region}:${d.accountId}:${type}/${name.toLowerCase()}`;
}

const TIME_KEY = /(Time|Timestamp)$/;

/** Deep copy with every `...Time`/`...Timestamp` number converted from epoch millis to epoch seconds (AWS JSON). */
export function toApi(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toApi);
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) continue;
      out[k] = typeof x === 'number' && TIME_KEY.test(k) ? x / 1000 : toApi(x);
    }
    return out;
  }
  return v;
}

/** Event `detail`: the Describe fields with times kept in epoch millis (as SageMaker's events carry them) and Tags as a map. */
export function toEventDetail(rec: Rec, tags: Tag[]): JsonObject {
  const out = structuredClone(rec) as JsonObject;
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  out.Tags = Object.fromEntries(tags.map((t) => [t.Key, t.Value]));
  return out;
}

export interface ListSpec<T> {
  items: Iterable<T>;
  body: JsonObject;
  name: (t: T) => string;
  creationTime: (t: T) => number;
  lastModifiedTime?: (t: T) => number;
  status?: (t: T) => string;
  sortKeys: Record<string, (t: T) => string | number>;
  defaultSortBy: string;
  defaultSortOrder: 'Ascending' | 'Descending';
  /** ListTrainingJobs' documented quirk: MaxResults is applied before StatusEquals. */
  statusAfterPage?: boolean;
  statusField?: string;
  extraFilter?: (t: T) => boolean;
}

interface Cursor {
  b: string;
  o: string;
  k: string | number;
  n: string;
}

const isCursor = (v: unknown): v is Cursor =>
  isObject(v) && typeof v.b === 'string' && typeof v.o === 'string' && typeof v.n === 'string' && (typeof v.k === 'string' || typeof v.k === 'number');

/** Generic List*: time filters, NameContains, StatusEquals, SortBy/SortOrder, MaxResults (1-100, default 10), cursor NextToken. */
export function listPage<T>(spec: ListSpec<T>): { items: T[]; NextToken?: string } {
  const b = spec.body;
  const v = new Validator();
  const sortBy = optString(b, 'SortBy') ?? spec.defaultSortBy;
  v.enumOf(b.SortBy, 'sortBy', Object.keys(spec.sortKeys));
  v.enumOf(b.SortOrder, 'sortOrder', ['Ascending', 'Descending']);
  v.number(b.MaxResults, 'maxResults', { min: 1, max: 100, int: true });
  v.string(b.NameContains, 'nameContains', { max: 63 });
  v.done();
  const order = optString(b, 'SortOrder') ?? spec.defaultSortOrder;
  const max = optNumber(b, 'MaxResults') ?? 10;
  const ca = timestampMs(b.CreationTimeAfter);
  const cb = timestampMs(b.CreationTimeBefore);
  const la = timestampMs(b.LastModifiedTimeAfter);
  const lb = timestampMs(b.LastModifiedTimeBefore);
  const nameContains = optString(b, 'NameContains');
  const status = optString(b, spec.statusField ?? 'StatusEquals');
  const keyOf = spec.sortKeys[sortBy];
  const dir = order === 'Ascending' ? 1 : -1;
  const cmp = (x: { k: string | number; n: string }, y: { k: string | number; n: string }) =>
    (x.k < y.k ? -1 : x.k > y.k ? 1 : x.n < y.n ? -1 : x.n > y.n ? 1 : 0) * dir;

  const token = optString(b, 'NextToken');
  const cursor = token ? decodeToken(token, isCursor, () => validationError('Invalid pagination token')) : undefined;
  if (cursor && (cursor.b !== sortBy || cursor.o !== order)) throw validationError('The NextToken does not match the SortBy/SortOrder of the request.');

  const matched: Array<{ t: T; k: string | number; n: string }> = [];
  for (const t of spec.items) {
    const created = spec.creationTime(t);
    if (ca !== undefined && !(created > ca)) continue;
    if (cb !== undefined && !(created < cb)) continue;
    if (spec.lastModifiedTime) {
      const lm = spec.lastModifiedTime(t);
      if (la !== undefined && !(lm > la)) continue;
      if (lb !== undefined && !(lm < lb)) continue;
    }
    const name = spec.name(t);
    if (nameContains && !name.toLowerCase().includes(nameContains.toLowerCase())) continue;
    if (status && spec.status && !spec.statusAfterPage && spec.status(t) !== status) continue;
    if (spec.extraFilter && !spec.extraFilter(t)) continue;
    const entry = { t, k: keyOf(t), n: name };
    if (cursor && cmp(entry, { k: cursor.k, n: cursor.n }) <= 0) continue;
    matched.push(entry);
  }
  matched.sort(cmp);
  const page = matched.slice(0, max);
  const more = matched.length > max;
  const last = page[page.length - 1];
  let items = page.map((e) => e.t);
  if (status && spec.status && spec.statusAfterPage) items = items.filter((t) => spec.status!(t) === status);
  return { items, NextToken: more && last ? encodeToken({ b: sortBy, o: order, k: last.k, n: last.n }) : undefined };
}

export function tagsFrom(v: unknown): Tag[] {
  return Array.isArray(v) ? v.filter(isObject).map((t) => ({ Key: String(t.Key), Value: String(t.Value ?? '') })) : [];
}

/**
 * SageMaker lists an S3 input at creation (CreateTrainingJob, CreateTransformJob) and rejects the
 * request when nothing is there — the job is never created. A prefix that empties after creation
 * still fails the job later ("ClientError: Data download failed"), in jobs/workspace.ts.
 * Manifest inputs name their objects in the manifest file itself, which must exist.
 */
export function assertS3InputExists(d: Pick<SageMakerDeps, 's3' | 'region'>, uri: string, dataType: string, roleArn: string | undefined): void {
  const { bucket, key } = parseS3Uri(uri);
  let found = false;
  if (d.s3.hasBucket(bucket)) {
    if (dataType === 'S3Prefix') found = d.s3.list(bucket, { prefix: key, maxKeys: 2 }).contents.some((m) => !m.key.endsWith('/'));
    else found = d.s3.list(bucket, { prefix: key, maxKeys: 1 }).contents.some((m) => m.key === key);
  }
  if (found) return;
  const role = roleArn ? ` and that the role "${roleArn}"` : ' and that the role';
  throw validationError(
    `No S3 objects found under S3 URL "${uri}" given in input data source. Please ensure that the bucket exists in the selected region (${d.region}), that objects exist under that S3 prefix,${role} has "s3:ListBucket" permissions on bucket "${bucket}".`,
  );
}
