/**
 * The Iris pipeline of the SageMaker tutorial, task for task, in TypeScript:
 *
 *   data_prep → train_model → create_model → test_model → evaluate
 *
 * data_prep splits Iris 70/30 and writes train.csv / test.csv to S3; train_model trains the
 * built-in KNN (deferred: no worker is held while SageMaker trains); create_model registers the
 * artifact; test_model batch-transforms test.csv (deferred); evaluate (our one addition) compares
 * the predictions with the held-out labels and pushes the accuracy to XCom.
 *
 * Variables: s3_bucket, role. Connection: aws-sagemaker. Run param data_url (file, http(s) or s3://).
 * Against real AWS, change only the connection (and the variables).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DAG, chain, task, type TaskContext } from 'deferflow';
import { S3Hook, SageMakerModelOperator, SageMakerTrainingOperatorAsync, SageMakerTransformOperatorAsync } from 'deferflow/aws';

const AWS_CONN_ID = 'aws-sagemaker';
const INPUT_S3_KEY = 'iris/processed-input-data';
/** SageMaker's built-in KNN image (us-east-2, as in the tutorial); the local AWS runs it too. */
const KNN_IMAGE = '404615174143.dkr.ecr.us-east-2.amazonaws.com/knn';
const BUCKET = "{{ var.value.get('s3_bucket') }}";
const ROLE = "{{ var.value.get('role') }}";
const DEFAULT_DATA_URL = fileURLToPath(new URL('./data/iris.data', import.meta.url));
const SPECIES = ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica'];

async function readDataset(url: string): Promise<string> {
  if (/^https?:\/\//.test(url)) {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
    return res.text();
  }
  if (url.startsWith('s3://')) {
    const { bucket, key } = S3Hook.parseS3Url(url);
    return new S3Hook({ aws_conn_id: AWS_CONN_ID }).readKey(key, bucket);
  }
  return readFile(url.replace(/^file:\/\//, ''), 'utf8');
}

/** Deterministic shuffle per run (Mulberry32 seeded from the run's timestamp) so reruns repeat. */
function shuffled<T>(rows: T[], seedText: string): T[] {
  let seed = [...seedText].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0, 2166136261);
  const rand = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...rows];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export default new DAG(
  {
    dagId: 'sagemaker_pipeline',
    description: 'Train, create and batch-test a KNN model on Iris with SageMaker (deferrable)',
    schedule: null,
    startDate: '2025-01-01',
    catchup: false,
    tags: ['sagemaker', 'seed'],
    params: { data_url: DEFAULT_DATA_URL },
    defaultArgs: { owner: 'airflow', aws_conn_id: AWS_CONN_ID, retries: 0 },
  },
  () => {
    const dataPrep = task(
      'data_prep',
      async (ctx: TaskContext, dataUrl: string, s3Bucket: string, tsNodash: string) => {
        const rows = (await readDataset(dataUrl))
          .split(/\r?\n/)
          .map((l) => l.trim())
          .filter(Boolean)
          .map((l) => l.split(','));
        // Species names → numeric labels, label first: the CSV layout SageMaker's KNN trains on.
        const labelled = rows.map((r) => {
          const label = SPECIES.indexOf(r[4]);
          if (label < 0) throw new Error(`Unknown species ${JSON.stringify(r[4])} in ${dataUrl}`);
          return { label, features: r.slice(0, 4) };
        });
        const mixed = shuffled(labelled, tsNodash);
        const cut = Math.floor(0.7 * mixed.length);
        const train = mixed.slice(0, cut);
        const test = mixed.slice(cut);
        const s3 = new S3Hook({ aws_conn_id: AWS_CONN_ID });
        await s3.createBucket(s3Bucket).catch(() => undefined);
        const prefix = `${tsNodash}/${INPUT_S3_KEY}`;
        await s3.loadString(train.map((r) => [r.label, ...r.features].join(',')).join('\n') + '\n', `${prefix}/train.csv`, s3Bucket, true);
        await s3.loadString(test.map((r) => r.features.join(',')).join('\n') + '\n', `${prefix}/test.csv`, s3Bucket, true);
        // Held-out labels, kept apart from test.csv, for the evaluate task.
        await s3.loadString(test.map((r) => r.label).join('\n') + '\n', `${prefix}/test_labels.csv`, s3Bucket, true);
        ctx.log.info({ train: train.length, test: test.length, bucket: s3Bucket, prefix }, 'split Iris 70/30 and uploaded to S3');
        return { train_rows: train.length, test_rows: test.length, s3_prefix: `s3://${s3Bucket}/${prefix}` };
      },
      { args: ['{{ params.data_url }}', BUCKET, '{{ ts_nodash }}'] },
    );

    const trainModel = new SageMakerTrainingOperatorAsync({
      taskId: 'train_model',
      config: {
        AlgorithmSpecification: { TrainingImage: KNN_IMAGE, TrainingInputMode: 'File' },
        HyperParameters: { predictor_type: 'classifier', feature_dim: '4', k: '3', sample_size: '150' },
        InputDataConfig: [
          {
            ChannelName: 'train',
            DataSource: {
              S3DataSource: {
                S3DataType: 'S3Prefix',
                S3Uri: `s3://${BUCKET}/{{ ts_nodash }}/${INPUT_S3_KEY}/train.csv`,
              },
            },
            ContentType: 'text/csv',
            InputMode: 'File',
          },
        ],
        OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/results/` },
        ResourceConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 1 },
        RoleArn: ROLE,
        StoppingCondition: { MaxRuntimeInSeconds: 6000 },
        TrainingJobName: 'knn-iris-{{ ts_nodash }}',
      },
    });

    const createModel = new SageMakerModelOperator({
      taskId: 'create_model',
      config: {
        ExecutionRoleArn: ROLE,
        ModelName: 'knn-iris-model-{{ ts_nodash }}',
        PrimaryContainer: {
          Mode: 'SingleModel',
          Image: KNN_IMAGE,
          ModelDataUrl: "{{ ti.xcom_pull(task_ids='train_model')['Training']['ModelArtifacts']['S3ModelArtifacts'] }}",
        },
      },
    });

    const testModel = new SageMakerTransformOperatorAsync({
      taskId: 'test_model',
      config: {
        TransformJobName: 'knn-iris-test-{{ ts_nodash }}',
        TransformInput: {
          DataSource: {
            S3DataSource: {
              S3DataType: 'S3Prefix',
              S3Uri: `s3://${BUCKET}/{{ ts_nodash }}/${INPUT_S3_KEY}/test.csv`,
            },
          },
          SplitType: 'Line',
          ContentType: 'text/csv',
        },
        TransformOutput: { S3OutputPath: `s3://${BUCKET}/{{ ts_nodash }}/iris/batch-output` },
        TransformResources: { InstanceCount: 1, InstanceType: 'ml.m5.large' },
        ModelName: 'knn-iris-model-{{ ts_nodash }}',
      },
    });

    const evaluate = task(
      'evaluate',
      async (ctx: TaskContext, s3Bucket: string, tsNodash: string) => {
        const s3 = new S3Hook({ aws_conn_id: AWS_CONN_ID });
        const prefix = `${tsNodash}/${INPUT_S3_KEY}`;
        const labels = (await s3.readKey(`${prefix}/test_labels.csv`, s3Bucket)).split('\n').filter(Boolean).map(Number);
        const out = await s3.readKey(`${tsNodash}/iris/batch-output/test.csv.out`, s3Bucket);
        const predictions = parsePredictions(out);
        if (predictions.length !== labels.length) {
          throw new Error(`Got ${predictions.length} predictions for ${labels.length} held-out rows`);
        }
        const correct = predictions.filter((p, i) => p === labels[i]).length;
        const accuracy = correct / labels.length;
        ctx.log.info({ accuracy, correct, total: labels.length }, `model accuracy on the held-out set: ${(accuracy * 100).toFixed(1)}%`);
        await ctx.ti.xcom_push('accuracy', accuracy);
        return { accuracy, correct, total: labels.length, predictions_uri: `s3://${s3Bucket}/${tsNodash}/iris/batch-output/test.csv.out` };
      },
      { args: [BUCKET, '{{ ts_nodash }}'] },
    );

    chain(dataPrep, trainModel, createModel, testModel, evaluate);
  },
);

/**
 * SageMaker KNN's batch output: JSON (`{"predictions":[{"predicted_label":1.0},…]}`, one object per
 * line or per mini-batch), JSON Lines (`{"predicted_label":1.0}`) or CSV (one label per line).
 */
export function parsePredictions(text: string): number[] {
  const out: number[] = [];
  for (const line of text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)) {
    if (line.startsWith('{')) {
      const obj = JSON.parse(line) as { predictions?: Array<{ predicted_label: number }>; predicted_label?: number };
      if (obj.predictions) out.push(...obj.predictions.map((p) => Number(p.predicted_label)));
      else if (obj.predicted_label !== undefined) out.push(Number(obj.predicted_label));
    } else {
      out.push(...line.split(',').map(Number));
    }
  }
  return out;
}
