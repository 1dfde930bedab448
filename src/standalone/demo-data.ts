/**
 * What the seed DAGs expect to find on a fresh stack: the demo bucket with the Iris training set
 * (`sagemaker_training_dag` trains on s3://deferflow-demo/sample-data/iris/train.csv) and the
 * variables `s3_bucket` / `role` (`sagemaker_pipeline` renders them). Only ever filled in, never
 * overwritten: a user's own values win.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Store } from '../store/store.ts';
import { VariableRepository } from '../store/repositories/variable-repository.ts';
import { isAwsErrorCode } from '../providers/aws/aws-errors.ts';

export const DEMO_BUCKET = 'deferflow-demo';
export const DEMO_TRAIN_KEY = 'sample-data/iris/train.csv';
/** Any role ARN is accepted by the local AWS; SageMaker's usual role name, in the local account. */
export const DEMO_ROLE_ARN = 'arn:aws:iam::000000000000:role/SageMakerRole';
export const IRIS_DATA_FILE = fileURLToPath(new URL('../../dags/data/iris.data', import.meta.url));

const SPECIES = ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica'];

/** UCI's iris.data (4 features, species name last) → SageMaker KNN's CSV (numeric label first, no header). */
export function irisToLabelFirstCsv(text: string): string {
  const rows: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const cols = line.trim().split(',');
    if (cols.length < 5) continue;
    const label = SPECIES.indexOf(cols[4]);
    if (label < 0) throw new Error(`Unknown Iris species ${JSON.stringify(cols[4])}`);
    rows.push([label, ...cols.slice(0, 4)].join(','));
  }
  return `${rows.join('\n')}\n`;
}

/** Create the demo bucket (if missing) and put the Iris training CSV in it; returns its S3 URI. */
export async function uploadDemoData(s3: S3Client, bucket = DEMO_BUCKET): Promise<string> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (e) {
    if (!isAwsErrorCode(e, 'BucketAlreadyOwnedByYou', 'BucketAlreadyExists')) throw e;
  }
  const body = irisToLabelFirstCsv(await readFile(IRIS_DATA_FILE, 'utf8'));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: DEMO_TRAIN_KEY, Body: body, ContentType: 'text/csv' }));
  return `s3://${bucket}/${DEMO_TRAIN_KEY}`;
}

/** Set `s3_bucket` and `role` where unset; returns the keys it set. */
export async function ensureDemoVariables(store: Store, values: { s3_bucket?: string; role?: string } = {}): Promise<string[]> {
  const vars = new VariableRepository(store);
  const wanted: Record<string, string> = { s3_bucket: values.s3_bucket ?? DEMO_BUCKET, role: values.role ?? DEMO_ROLE_ARN };
  const set: string[] = [];
  for (const [key, value] of Object.entries(wanted)) {
    if ((await vars.get(key)) !== undefined) continue;
    await vars.set(key, value, 'Set by deferflow for the seed DAGs (local AWS)');
    set.push(key);
  }
  return set;
}
