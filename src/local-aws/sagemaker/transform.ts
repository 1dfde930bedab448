/**
 * Batch transform: InProgress -> Completed / Failed / Stopped. Like SageMaker,
 * the job starts the model's serving container and feeds it the input
 * objects split into records and mini-batches; responses are assembled into
 * `<input file>.out` under TransformOutput.S3OutputPath.
 */
import { join } from 'node:path';
import { AwsError, validationError } from '../errors.ts';
import { extractModel, freshDir, DataDownloadError } from '../jobs/workspace.ts';
import { parseS3Uri } from '../s3/store.ts';
import type { JsonObject } from '../util.ts';
import { arn, assertS3InputExists, listPage, tagsFrom, toApi, type Rec, type SageMakerDeps } from './common.ts';
import { resolveImage } from './images.ts';
import { JobLog, stageWait, StopRequested, unlessStopped } from './jobkit.ts';
import { ModelService } from './models.ts';
import { DETAIL_TYPES, publishState } from './publish.ts';
import { ServingContainer } from './serving.ts';
import type { Entry, SageMakerState } from './state.ts';
import { JobFailure } from './training.ts';
import { S3_URI_RE, Validator, validateTags } from './validation.ts';

const STATUSES = ['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped'];

export class TransformService {
  private running = new Map<string, AbortController>();
  private closing = false;

  constructor(
    private readonly deps: SageMakerDeps,
    private readonly state: SageMakerState,
    private readonly models: ModelService,
  ) {}

  private arnOf(name: string): string {
    return arn(this.deps, 'transform-job', name);
  }

  private get(name: unknown): Entry {
    const e = typeof name === 'string' ? this.state.get('transform', name) : undefined;
    if (!e) throw validationError(`Could not find requested job with name ${String(name)}`);
    return e;
  }

  create(body: JsonObject): JsonObject {
    const v = new Validator();
    v.name(body.TransformJobName, 'transformJobName');
    v.name(body.ModelName, 'modelName');
    v.enumOf(body.BatchStrategy, 'batchStrategy', ['MultiRecord', 'SingleRecord']);
    v.number(body.MaxConcurrentTransforms, 'maxConcurrentTransforms', { min: 0, int: true });
    v.number(body.MaxPayloadInMB, 'maxPayloadInMB', { min: 0, max: 100, int: true });
    if (v.object(body.TransformInput, 'transformInput', true)) {
      const ti = body.TransformInput;
      if (v.object(ti.DataSource, 'transformInput.dataSource', true) && v.object(ti.DataSource.S3DataSource, 'transformInput.dataSource.s3DataSource', true)) {
        const s3 = ti.DataSource.S3DataSource;
        v.enumOf(s3.S3DataType, 'transformInput.dataSource.s3DataSource.s3DataType', ['ManifestFile', 'S3Prefix', 'AugmentedManifestFile'], true);
        v.string(s3.S3Uri, 'transformInput.dataSource.s3DataSource.s3Uri', { required: true, max: 1024, re: S3_URI_RE });
      }
      v.enumOf(ti.SplitType, 'transformInput.splitType', ['None', 'Line', 'RecordIO', 'TFRecord']);
      v.enumOf(ti.CompressionType, 'transformInput.compressionType', ['None', 'Gzip']);
    }
    if (v.object(body.TransformOutput, 'transformOutput', true)) {
      v.string(body.TransformOutput.S3OutputPath, 'transformOutput.s3OutputPath', { required: true, max: 1024, re: S3_URI_RE });
      v.enumOf(body.TransformOutput.AssembleWith, 'transformOutput.assembleWith', ['None', 'Line']);
    }
    if (v.object(body.TransformResources, 'transformResources', true)) {
      v.string(body.TransformResources.InstanceType, 'transformResources.instanceType', { required: true, re: /^ml\.[a-z0-9]+\.[a-z0-9]+$/ });
      v.number(body.TransformResources.InstanceCount, 'transformResources.instanceCount', { required: true, min: 1, int: true });
    }
    v.stringMap(body.Environment, 'environment', { maxEntries: 16, maxKey: 1024, maxValue: 10240 });
    validateTags(v, body.Tags);
    v.done();
    const name = body.TransformJobName as string;
    const jobArn = this.arnOf(name);
    if (this.state.get('transform', name)) {
      throw new AwsError('ResourceInUse', `Job name must be unique within an AWS account and region, and a job with this name already exists (${jobArn})`);
    }
    const model = this.models.getModel(body.ModelName);
    const input = ((body.TransformInput as Rec).DataSource as Rec).S3DataSource as Rec;
    assertS3InputExists(this.deps, input.S3Uri as string, String(input.S3DataType), model.d.ExecutionRoleArn as string | undefined);
    const now = Date.now();
    const d: Rec = {
      TransformJobName: name,
      TransformJobArn: jobArn,
      TransformJobStatus: 'InProgress',
      ModelName: body.ModelName,
      MaxConcurrentTransforms: body.MaxConcurrentTransforms ?? 1,
      ModelClientConfig: body.ModelClientConfig,
      MaxPayloadInMB: body.MaxPayloadInMB ?? 6,
      BatchStrategy: body.BatchStrategy ?? 'MultiRecord',
      Environment: body.Environment ?? {},
      TransformInput: { SplitType: 'None', CompressionType: 'None', ...(body.TransformInput as Rec) },
      TransformOutput: { AssembleWith: 'None', ...(body.TransformOutput as Rec) },
      DataCaptureConfig: body.DataCaptureConfig,
      TransformResources: body.TransformResources,
      CreationTime: now,
      LastModifiedTime: now,
      DataProcessing: body.DataProcessing,
      ExperimentConfig: body.ExperimentConfig,
    };
    const e: Entry = { name, d, tags: tagsFrom(body.Tags), meta: {} };
    this.state.set('transform', name, e);
    this.deps.markDirty();
    publishState(this.deps, DETAIL_TYPES.transform, jobArn, e);
    const ac = new AbortController();
    this.running.set(name.toLowerCase(), ac);
    void this.run(e, ac.signal);
    return { TransformJobArn: jobArn };
  }

  describe(body: JsonObject): JsonObject {
    const d = { ...this.get(body.TransformJobName).d };
    delete d.LastModifiedTime; // not part of DescribeTransformJob's response
    return toApi(d) as JsonObject;
  }

  list(body: JsonObject): JsonObject {
    const v = new Validator();
    v.enumOf(body.StatusEquals, 'statusEquals', STATUSES);
    v.done();
    const page = listPage<Entry>({
      items: this.state.transform.values(),
      body,
      name: (e) => e.name,
      creationTime: (e) => e.d.CreationTime as number,
      lastModifiedTime: (e) => e.d.LastModifiedTime as number,
      status: (e) => e.d.TransformJobStatus as string,
      sortKeys: { Name: (e) => e.name, CreationTime: (e) => e.d.CreationTime as number, Status: (e) => e.d.TransformJobStatus as string },
      defaultSortBy: 'CreationTime',
      defaultSortOrder: 'Descending',
    });
    return {
      TransformJobSummaries: page.items.map((e) =>
        toApi({
          TransformJobName: e.name,
          TransformJobArn: e.d.TransformJobArn,
          CreationTime: e.d.CreationTime,
          TransformEndTime: e.d.TransformEndTime,
          LastModifiedTime: e.d.LastModifiedTime,
          TransformJobStatus: e.d.TransformJobStatus,
          FailureReason: e.d.FailureReason,
        }),
      ),
      NextToken: page.NextToken,
    };
  }

  stop(body: JsonObject): JsonObject {
    const e = this.get(body.TransformJobName);
    const s = e.d.TransformJobStatus as string;
    if (s === 'Stopping') return {};
    if (s !== 'InProgress') throw validationError(`The request was rejected because the transform job is in status ${s}.`);
    this.setStatus(e, 'Stopping');
    this.running.get(e.name.toLowerCase())?.abort(new StopRequested('stop'));
    return {};
  }

  private setStatus(e: Entry, status: string, extra: Rec = {}): void {
    const changed = e.d.TransformJobStatus !== status;
    e.d.TransformJobStatus = status;
    Object.assign(e.d, extra);
    e.d.LastModifiedTime = Date.now();
    this.deps.markDirty();
    if (changed) publishState(this.deps, DETAIL_TYPES.transform, e.d.TransformJobArn as string, e);
  }

  private async run(e: Entry, signal: AbortSignal): Promise<void> {
    const { deps } = this;
    const name = e.name;
    const simulated = deps.faults.shouldSimulate(name);
    const stage = () => deps.faults.stageMs(2);
    let container: ServingContainer | undefined;
    try {
      await stageWait(deps.scheduler, stage(), signal);
      e.d.TransformStartTime = Date.now();
      deps.markDirty();
      if (deps.faults.shouldFail(name)) {
        await stageWait(deps.scheduler, stage(), signal);
        throw new JobFailure('AlgorithmError: Transform failed by local AWS fault injection (failJobs). See job logs for more information.');
      }
      if (simulated) {
        await stageWait(deps.scheduler, stage(), signal);
      } else {
        const model = this.models.getModel(e.d.ModelName);
        const pc = ModelService.primary(model);
        const image = resolveImage(pc.Image as string | undefined, deps.scriptImages);
        if (image.kind !== 'knn') {
          throw new JobFailure(
            `ClientError: Local AWS can only run batch transform for built-in KNN models; model image ${String(pc.Image)} cannot be served.`,
          );
        }
        const dir = join(deps.dataDir, 'jobs', 'transform', name);
        await freshDir(dir);
        try {
          await extractModel(deps.s3, String(pc.ModelDataUrl), join(dir, 'model'));
        } catch (err) {
          throw new JobFailure(`ClientError: Failed to download model data from ${String(pc.ModelDataUrl)}: ${(err as Error).message}`);
        }
        const log = new JobLog(deps.logs, '/aws/sagemaker/TransformJobs', name);
        container = new ServingContainer(deps.runner, {
          jobDir: dir,
          modelDir: join(dir, 'model'),
          env: e.d.Environment as Record<string, string>,
          onLine: (l) => log.line(l),
        });
        await Promise.all([
          unlessStopped(container.ready, signal).catch((err: unknown) => {
            if (err instanceof StopRequested) throw err;
            throw new JobFailure('ClientError: The model container failed to start. See job logs for more information.');
          }),
          stageWait(deps.scheduler, stage(), signal),
        ]);
        await unlessStopped(this.transformAll(e, container, log), signal);
      }
      await stageWait(deps.scheduler, stage(), signal);
      this.setStatus(e, 'Completed', { TransformEndTime: Date.now() });
    } catch (err) {
      if (err instanceof StopRequested) {
        if (err.reason === 'shutdown' || this.closing) return;
        await container?.stop();
        this.setStatus(e, 'Stopped', { TransformEndTime: Date.now() });
        return;
      }
      if (this.closing) return;
      const reason =
        err instanceof JobFailure || err instanceof DataDownloadError
          ? err.message
          : `InternalServerError: Local AWS failed to run the job: ${(err as Error).message}`;
      if (!(err instanceof JobFailure) && !(err instanceof DataDownloadError)) deps.logger.error({ err, job: name }, 'local-aws: transform job crashed');
      this.setStatus(e, 'Failed', { FailureReason: reason, TransformEndTime: Date.now() });
    } finally {
      await container?.stop();
      this.running.delete(name.toLowerCase());
    }
  }

  private async transformAll(e: Entry, container: ServingContainer, log: JobLog): Promise<void> {
    const { deps } = this;
    const ti = e.d.TransformInput as Rec;
    const to = e.d.TransformOutput as Rec;
    const src = (ti.DataSource as Rec).S3DataSource as Rec;
    const { bucket, key } = parseS3Uri(src.S3Uri as string);
    let objects;
    try {
      if (!deps.s3.hasBucket(bucket)) throw new Error(`The specified bucket does not exist (${bucket})`);
      objects = deps.s3.resolveInputs(bucket, key, 'S3Prefix');
    } catch (err) {
      throw new DataDownloadError(`ClientError: Data download failed: ${(err as Error).message}`);
    }
    if (objects.length === 0) throw new DataDownloadError(`ClientError: No S3 objects found under S3 URL "${String(src.S3Uri)}" given in input data source.`);
    const out = parseS3Uri(to.S3OutputPath as string);
    const outPrefix = out.key === '' || out.key.endsWith('/') ? out.key : `${out.key}/`;
    const base = key.slice(0, key.lastIndexOf('/') + 1);
    const split = ti.SplitType as string;
    const maxPayload = Number(e.d.MaxPayloadInMB ?? 6) * 1024 * 1024 || 6 * 1024 * 1024;
    const single = e.d.BatchStrategy === 'SingleRecord';
    const joiner = to.AssembleWith === 'Line' ? '\n' : '';
    for (const o of objects) {
      const text = (await deps.s3.getBuffer(bucket, o.key)).toString('utf8');
      const records = split === 'Line' ? text.split(/\r?\n/).filter((l) => l.trim() !== '') : [text];
      const batches: string[] = [];
      let cur: string[] = [];
      let size = 0;
      for (const r of records) {
        if (cur.length && (single || size + r.length + 1 > maxPayload)) {
          batches.push(cur.join('\n'));
          cur = [];
          size = 0;
        }
        cur.push(r);
        size += r.length + 1;
      }
      if (cur.length) batches.push(cur.join('\n'));
      const outputs: string[] = [];
      for (const b of batches) {
        const res = await container.invoke(Buffer.from(b), ti.ContentType as string | undefined, to.Accept as string | undefined);
        if (res.status !== 200) {
          const msg = res.body.toString('utf8');
          log.line(`Bad HTTP status received from algorithm: ${res.status}: ${msg}`);
          throw new JobFailure(`ClientError: See job logs for more information. (${res.status}: ${msg.slice(0, 400)})`);
        }
        outputs.push(res.body.toString('utf8'));
      }
      const rel = o.key.slice(base.length) || o.key.split('/').pop()!;
      const body = outputs.join(joiner) + (joiner && outputs.length ? '\n' : '');
      await deps.s3.put(out.bucket, `${outPrefix}${rel}.out`, Buffer.from(body), {
        contentType: (to.Accept as string | undefined) ?? 'application/json',
        metadata: {},
      });
      log.line(`Processed ${records.length} records from s3://${bucket}/${o.key}`);
    }
  }

  recover(): void {
    for (const e of this.state.transform.values()) {
      const s = e.d.TransformJobStatus;
      if (s === 'InProgress' || s === 'Stopping')
        this.setStatus(e, 'Failed', { FailureReason: 'Local AWS restarted while the job was running', TransformEndTime: Date.now() });
    }
  }

  async shutdown(): Promise<void> {
    this.closing = true;
    for (const ac of this.running.values()) ac.abort(new StopRequested('shutdown'));
  }
}
