/**
 * Job directories with SageMaker's container layout, and the S3 transfers
 * around a container run: channel downloads into `input/data/<channel>/`,
 * packing `model/` into model.tar.gz, uploading output directories, and
 * extracting a model artifact for serving. `/opt/ml` becomes the job dir.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { AwsError } from '../errors.ts';
import { parseS3Uri, type S3Store } from '../s3/store.ts';

export const OPT_ML = '/opt/ml';

export async function freshDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}

/** Maps a container path (`/opt/ml/processing/input`) into the job dir; other absolute paths go under `<job>/root/`. */
export function containerPath(jobDir: string, p: string): string {
  const norm = p.replace(/\/+$/, '');
  const rel = norm === OPT_ML ? '' : norm.startsWith(`${OPT_ML}/`) ? norm.slice(OPT_ML.length + 1) : join('root', norm.replace(/^\/+/, ''));
  const out = resolve(jobDir, rel);
  if (out !== resolve(jobDir) && !out.startsWith(resolve(jobDir) + sep)) throw new AwsError('ValidationException', `Local path ${p} escapes the job directory`);
  return out;
}

export class DataDownloadError extends Error {}

/**
 * Copies the objects an S3 data source names into `dest`: with S3Prefix, every
 * object under the prefix keeps its path relative to the prefix (as SageMaker
 * lays channels out); with S3Object, the single object.
 */
export async function downloadS3(s3: S3Store, uri: string, type: string, dest: string): Promise<number> {
  const { bucket, key } = parseS3Uri(uri);
  await mkdir(dest, { recursive: true });
  let objects;
  try {
    if (!s3.hasBucket(bucket)) throw new Error(`NoSuchBucket: The specified bucket does not exist (${bucket})`);
    objects = s3.resolveInputs(bucket, key, type === 'S3Object' ? 'S3Object' : 'S3Prefix');
  } catch (e) {
    throw new DataDownloadError(
      `ClientError: Data download failed:${(e as Error).message.startsWith('NoSuchBucket') ? '' : 'NoSuchKey (404): '}${(e as Error).message} (${uri})`,
    );
  }
  if (objects.length === 0)
    throw new DataDownloadError(
      `ClientError: Data download failed:No S3 objects found under S3 URL "${uri}" given in input data source. Please ensure that the bucket exists in the selected region (us-east-1), that objects exist under that S3 prefix, and that the role has "s3:ListBucket" permissions on bucket "${bucket}".`,
    );
  const base = type === 'S3Object' ? key.slice(0, key.lastIndexOf('/') + 1) : key.slice(0, key.lastIndexOf('/') + 1);
  for (const o of objects) {
    const rel = o.key.slice(base.length) || o.key.split('/').pop()!;
    const file = resolve(dest, rel);
    if (!file.startsWith(resolve(dest) + sep)) continue;
    await mkdir(dirname(file), { recursive: true });
    await pipeline(s3.readStream(bucket, o.key), createWriteStream(file));
  }
  return objects.length;
}

async function listRel(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    let ents;
    try {
      ents = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

/** Packs a directory's contents into a gzip tarball (real `tar.gz`, like SageMaker's model.tar.gz). */
export async function packDir(dir: string, outFile: string): Promise<void> {
  const entries = await listRel(dir);
  await mkdir(dirname(outFile), { recursive: true });
  await tar.c({ gzip: true, file: outFile, cwd: dir, portable: true }, entries);
}

export async function uploadFile(s3: S3Store, file: string, uri: string, contentType = 'application/x-tar'): Promise<void> {
  const { bucket, key } = parseS3Uri(uri);
  await s3.put(bucket, key, createReadStream(file), { contentType, metadata: {} });
}

/** Uploads every file under `dir` to `<uri>/<relative path>`. */
export async function uploadDir(s3: S3Store, dir: string, uri: string): Promise<number> {
  const { bucket, key } = parseS3Uri(uri);
  const prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
  const files = await listRel(dir);
  for (const f of files) {
    await s3.put(bucket, prefix + f.split(sep).join('/'), createReadStream(join(dir, f)), { contentType: 'application/octet-stream', metadata: {} });
  }
  return files.length;
}

/** Downloads a model.tar.gz from S3 and extracts it into `dest` (SageMaker's /opt/ml/model). */
export async function extractModel(s3: S3Store, modelDataUrl: string, dest: string): Promise<void> {
  const { bucket, key } = parseS3Uri(modelDataUrl);
  await freshDir(dest);
  const tmp = join(dest, '..', `model-${Date.now()}.tar.gz`);
  await pipeline(s3.readStream(bucket, key), createWriteStream(tmp));
  try {
    await tar.x({ file: tmp, cwd: dest, strict: true });
  } finally {
    await rm(tmp, { force: true });
  }
}

export async function writeJson(file: string, v: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(v, null, 2));
}

export async function dirHasFiles(dir: string): Promise<boolean> {
  try {
    return (await listRel(dir)).length > 0;
  } catch {
    return false;
  }
}

export async function fileExists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
