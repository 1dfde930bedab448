/**
 * The built-in KNN "container": a child process run with SageMaker's
 * container contract (`SM_OPT_ML` stands in for /opt/ml). `train` reads the
 * channels and hyperparameters, writes `model/model_algo-1`, and prints the
 * metric lines SageMaker's KNN prints; `serve` loads the model and answers
 * inference requests over IPC (used by endpoints and batch transform alike,
 * like SageMaker's serving containers). Failures are written to
 * `output/failure`, which becomes the job's FailureReason.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseKnnHyperparameters, KnnHyperparameterError } from './hyperparameters.ts';
import { leaveOneOutScore, predict, score, trainKnn, type KnnModel } from './knn.ts';
import { BadInput, isVerbose, parseInstances, serializePredictions, UnsupportedMediaType } from './formats.ts';

const root = process.env.SM_OPT_ML ?? '/opt/ml';
const pid = process.pid;

function log(msg: string, level = 'INFO'): void {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const ts = `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  process.stdout.write(`[${ts} ${level} ${pid}] ${msg}\n`);
}

class ClientError extends Error {}

function fail(reason: string, code = 2): never {
  mkdirSync(join(root, 'output'), { recursive: true });
  writeFileSync(join(root, 'output', 'failure'), reason);
  process.stderr.write(`${reason}\n`);
  process.exit(code);
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  try {
    walk(dir);
  } catch {
    /* missing channel dir */
  }
  return out;
}

function readLabelledCsv(channel: string, featureDim: number): { rows: number[][]; labels: number[] } {
  const files = listFiles(join(root, 'input', 'data', channel));
  if (files.length === 0) throw new ClientError(`ClientError: No training data found in channel '${channel}'.`);
  const rows: number[][] = [];
  const labels: number[] = [];
  for (const f of files) {
    const lines = readFileSync(f, 'utf8').split(/\r?\n/);
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      const cells = line.split(',');
      const nums = cells.map((c) => Number(c.trim()));
      if (nums.some((n, j) => !Number.isFinite(n) || cells[j].trim() === '')) {
        throw new ClientError(
          `ClientError: Unable to read data channel '${channel}'. Non-numeric value in ${f.slice(root.length)} line ${i + 1}: "${line.slice(0, 80)}". CSV records must be numeric with the label in the first column.`,
        );
      }
      if (nums.length - 1 !== featureDim) {
        throw new ClientError(
          `ClientError: Unable to read data channel '${channel}'. Requested feature_dim of ${featureDim} but found ${nums.length - 1} features in line ${i + 1} of ${f.slice(root.length)}.`,
        );
      }
      labels.push(nums[0]);
      rows.push(nums.slice(1));
    });
  }
  return { rows, labels };
}

function train(): void {
  const hps = JSON.parse(readFileSync(join(root, 'input', 'config', 'hyperparameters.json'), 'utf8')) as Record<string, string>;
  const dataConfig = JSON.parse(readFileSync(join(root, 'input', 'config', 'inputdataconfig.json'), 'utf8')) as Record<string, { ContentType?: string }>;
  log(
    'Reading default configuration from /opt/amazon/lib/python3.8/site-packages/algorithm/resources/default-conf.json: {"index_metric": "L2", "index_type": "faiss.Flat", "mini_batch_size": "5000", "_num_gpus": "auto"}',
  );
  log(`Reading provided configuration from ${join(root, 'input/config/hyperparameters.json')}: ${JSON.stringify(hps)}`);
  let hp;
  try {
    hp = parseKnnHyperparameters(hps);
  } catch (e) {
    if (e instanceof KnnHyperparameterError) fail(e.message);
    throw e;
  }
  log(`Final configuration: ${JSON.stringify({ ...hps, index_metric: hp.indexMetric, index_type: hp.indexType })}`);
  if (!dataConfig.train)
    fail(
      "ClientError: Unable to initialize the algorithm. Failed to validate input data configuration. (caused by ValidationError)\n\nCaused by: 'train' is a required property",
    );
  for (const [ch, c] of Object.entries(dataConfig)) {
    const ct = (c.ContentType ?? 'text/csv').toLowerCase();
    if (!ct.startsWith('text/csv')) {
      fail(
        `ClientError: Unable to read data channel '${ch}'. Content type ${c.ContentType} is not supported by local AWS's KNN (use text/csv with the label in the first column).`,
      );
    }
  }
  if (hp.dimensionReductionType)
    log(`dimension_reduction_type=${hp.dimensionReductionType} is accepted but not applied locally; using all ${hp.featureDim} features`, 'WARNING');
  try {
    const t0 = Date.now();
    const data = readLabelledCsv('train', hp.featureDim);
    log(`nvidia-smi took: 0.025 secs to identify 0 gpus`);
    log(`Number of GPUs being used: 0`);
    log(`Read ${data.rows.length} records from channel 'train'`);
    const model = trainKnn({
      rows: data.rows,
      labels: data.labels,
      k: hp.k,
      predictorType: hp.predictorType,
      featureDim: hp.featureDim,
      sampleSize: hp.sampleSize,
      indexMetric: hp.indexMetric,
      seed: 0,
    });
    log(
      `Sampled ${model.labels.length} of ${data.rows.length} records (sample_size=${hp.sampleSize}); building ${hp.indexType} index with metric ${hp.indexMetric}`,
    );
    process.stdout.write(
      `#metrics {"StartTime": ${t0 / 1000}, "EndTime": ${Date.now() / 1000}, "Dimensions": {"Algorithm": "KNN", "Host": "algo-1", "Operation": "training"}, "Metrics": {"Total Records Seen": {"sum": ${data.rows.length}.0, "count": 1, "min": ${data.rows.length}, "max": ${data.rows.length}}}}\n`,
    );
    mkdirSync(join(root, 'model'), { recursive: true });
    writeFileSync(join(root, 'model', 'model_algo-1'), JSON.stringify(model));
    const metricName = hp.predictorType === 'classifier' ? 'accuracy' : 'mse';
    if (dataConfig.test) {
      const test = readLabelledCsv('test', hp.featureDim);
      const s = score(model, test.rows, test.labels);
      log(`Test data: ${test.rows.length} records`);
      process.stdout.write(`#test_score (algo-1) : ('${s.name}', ${s.value})\n`);
      process.stdout.write(`#quality_metric: host=algo-1, test ${metricName} <score>=${s.value}\n`);
    } else {
      const s = leaveOneOutScore(model);
      process.stdout.write(`#train_score (algo-1) : ('${s.name}', ${s.value})\n`);
      process.stdout.write(`#quality_metric: host=algo-1, train ${metricName} <score>=${s.value}\n`);
    }
    log(`Training finished in ${((Date.now() - t0) / 1000).toFixed(3)} secs`);
  } catch (e) {
    if (e instanceof ClientError) fail(e.message);
    fail(`AlgorithmError: ${(e as Error).stack ?? String(e)}`, 1);
  }
}

interface InvokeRequest {
  id: number;
  body: string; // base64
  contentType?: string;
  accept?: string;
}

function serve(): void {
  const modelDir = process.env.SM_MODEL_DIR ?? join(root, 'model');
  let model: KnnModel;
  try {
    model = JSON.parse(readFileSync(join(modelDir, 'model_algo-1'), 'utf8')) as KnnModel;
    if (model.format !== 'local-aws-knn/1') throw new Error('not a local-aws KNN model');
  } catch (e) {
    process.stderr.write(`Failed to load KNN model from ${modelDir}: ${(e as Error).message}\n`);
    process.exit(1);
  }
  log(`Loaded KNN model: ${model.labels.length} points, feature_dim=${model.featureDim}, k=${model.k}, predictor_type=${model.predictorType}`);
  log('Serving on IPC (stands in for port 8080)');
  process.on('message', (raw: unknown) => {
    const req = raw as InvokeRequest;
    try {
      const xs = parseInstances(Buffer.from(req.body, 'base64').toString('utf8'), req.contentType);
      const preds = predict(model, xs, isVerbose(req.accept));
      const out = serializePredictions(preds, req.accept);
      process.send?.({ id: req.id, status: 200, body: Buffer.from(out.body).toString('base64'), contentType: out.contentType });
    } catch (e) {
      const status = e instanceof UnsupportedMediaType ? 415 : e instanceof BadInput ? 400 : 500;
      process.send?.({ id: req.id, status, body: Buffer.from(String((e as Error).message)).toString('base64'), contentType: 'text/plain' });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready' });
}

const mode = process.argv[2];
if (mode === 'train') train();
else if (mode === 'serve') serve();
else {
  process.stderr.write(`usage: container.ts train|serve (got ${mode})\n`);
  process.exit(64);
}
