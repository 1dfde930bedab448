/**
 * Processing jobs: InProgress -> Completed / Failed / Stopped. The image must
 * be mapped by `scriptImages`; ProcessingInputs are downloaded to their
 * LocalPath (under the job dir standing in for the container filesystem),
 * the command runs with ContainerEntrypoint/ContainerArguments (with /opt/ml
 * paths rewritten), and ProcessingOutputs are uploaded after it exits.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AwsError, validationError } from '../errors.ts';
import { containerPath, downloadS3, freshDir, uploadDir, writeJson, DataDownloadError } from '../jobs/workspace.ts';
import type { RunningProcess } from '../jobs/runner.ts';
import { stringMap, type JsonObject } from '../util.ts';
import { arn, listPage, tagsFrom, toApi, type Rec, type SageMakerDeps } from './common.ts';
import { resolveImage } from './images.ts';
import { JobLog, rewriteOptMl, stageWait, StopRequested, unlessStopped } from './jobkit.ts';
import { DETAIL_TYPES, publishState } from './publish.ts';
import type { Entry, SageMakerState } from './state.ts';
import { JobFailure } from './training.ts';
import { ROLE_ARN_RE, S3_URI_RE, Validator, validateTags } from './validation.ts';

const STATUSES = ['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped'];

export class ProcessingService {
  private running = new Map<string, { ac: AbortController; proc?: RunningProcess }>();
  private closing = false;

  constructor(
    private readonly deps: SageMakerDeps,
    private readonly state: SageMakerState,
  ) {}

  private arnOf(name: string): string {
    return arn(this.deps, 'processing-job', name);
  }

  private get(name: unknown): Entry {
    const e = typeof name === 'string' ? this.state.get('processing', name) : undefined;
    if (!e) throw validationError(`Could not find requested job with name ${String(name)}`);
    return e;
  }

  create(body: JsonObject): JsonObject {
    const v = new Validator();
    v.name(body.ProcessingJobName, 'processingJobName');
    v.string(body.RoleArn, 'roleArn', { required: true, min: 20, max: 2048, re: ROLE_ARN_RE });
    if (v.object(body.AppSpecification, 'appSpecification', true)) {
      v.string(body.AppSpecification.ImageUri, 'appSpecification.imageUri', { required: true, max: 255 });
      v.array(body.AppSpecification.ContainerEntrypoint, 'appSpecification.containerEntrypoint', { min: 1, max: 100 });
      v.array(body.AppSpecification.ContainerArguments, 'appSpecification.containerArguments', { min: 1, max: 100 });
    }
    if (
      v.object(body.ProcessingResources, 'processingResources', true) &&
      v.object(body.ProcessingResources.ClusterConfig, 'processingResources.clusterConfig', true)
    ) {
      const c = body.ProcessingResources.ClusterConfig;
      v.number(c.InstanceCount, 'processingResources.clusterConfig.instanceCount', { required: true, min: 1, max: 100, int: true });
      v.string(c.InstanceType, 'processingResources.clusterConfig.instanceType', { required: true, re: /^ml\.[a-z0-9]+\.[a-z0-9]+$/ });
      v.number(c.VolumeSizeInGB, 'processingResources.clusterConfig.volumeSizeInGB', { required: true, min: 1, max: 16384, int: true });
    }
    const names = new Set<string>();
    if (v.array(body.ProcessingInputs, 'processingInputs', { max: 10 })) {
      body.ProcessingInputs.forEach((i, n) => {
        const p = `processingInputs.${n + 1}.member`;
        if (!v.object(i, p, true)) return;
        if (v.string(i.InputName, `${p}.inputName`, { required: true })) {
          if (names.has(i.InputName))
            v.errors.push(`Value '${i.InputName}' at '${p}.inputName' failed to satisfy constraint: Input and output names must be unique`);
          names.add(i.InputName);
        }
        if (i.S3Input !== undefined && v.object(i.S3Input, `${p}.s3Input`)) {
          v.string(i.S3Input.S3Uri, `${p}.s3Input.s3Uri`, { required: true, re: S3_URI_RE });
          v.string(i.S3Input.LocalPath, `${p}.s3Input.localPath`, { max: 256 });
          v.enumOf(i.S3Input.S3DataType, `${p}.s3Input.s3DataType`, ['ManifestFile', 'S3Prefix'], true);
        }
      });
    }
    if (body.ProcessingOutputConfig !== undefined && v.object(body.ProcessingOutputConfig, 'processingOutputConfig')) {
      if (v.array(body.ProcessingOutputConfig.Outputs, 'processingOutputConfig.outputs', { required: true, max: 10 })) {
        body.ProcessingOutputConfig.Outputs.forEach((o, n) => {
          const p = `processingOutputConfig.outputs.${n + 1}.member`;
          if (!v.object(o, p, true)) return;
          if (v.string(o.OutputName, `${p}.outputName`, { required: true })) {
            if (names.has(o.OutputName))
              v.errors.push(`Value '${o.OutputName}' at '${p}.outputName' failed to satisfy constraint: Input and output names must be unique`);
            names.add(o.OutputName);
          }
          if (o.S3Output !== undefined && v.object(o.S3Output, `${p}.s3Output`)) {
            v.string(o.S3Output.S3Uri, `${p}.s3Output.s3Uri`, { required: true, re: S3_URI_RE });
            v.string(o.S3Output.LocalPath, `${p}.s3Output.localPath`, { required: true, max: 256 });
          }
        });
      }
    }
    v.stringMap(body.Environment, 'environment', { maxEntries: 100, maxKey: 256, maxValue: 256 });
    if (v.object(body.StoppingCondition, 'stoppingCondition'))
      v.number(body.StoppingCondition.MaxRuntimeInSeconds, 'stoppingCondition.maxRuntimeInSeconds', { required: true, min: 1, int: true });
    validateTags(v, body.Tags);
    v.done();
    const name = body.ProcessingJobName as string;
    const jobArn = this.arnOf(name);
    if (this.state.get('processing', name)) {
      throw new AwsError('ResourceInUse', `Job name must be unique within an AWS account and region, and a job with this name already exists (${jobArn})`);
    }
    const now = Date.now();
    const d: Rec = {
      ProcessingInputs: body.ProcessingInputs,
      ProcessingOutputConfig: body.ProcessingOutputConfig,
      ProcessingJobName: name,
      ProcessingResources: body.ProcessingResources,
      StoppingCondition: body.StoppingCondition,
      AppSpecification: body.AppSpecification,
      Environment: body.Environment,
      NetworkConfig: body.NetworkConfig,
      RoleArn: body.RoleArn,
      ExperimentConfig: body.ExperimentConfig,
      ProcessingJobArn: jobArn,
      ProcessingJobStatus: 'InProgress',
      LastModifiedTime: now,
      CreationTime: now,
    };
    const e: Entry = { name, d, tags: tagsFrom(body.Tags), meta: {} };
    this.state.set('processing', name, e);
    this.deps.markDirty();
    publishState(this.deps, DETAIL_TYPES.processing, jobArn, e);
    const ac = new AbortController();
    this.running.set(name.toLowerCase(), { ac });
    void this.run(e, ac.signal);
    return { ProcessingJobArn: jobArn };
  }

  describe(body: JsonObject): JsonObject {
    return toApi(this.get(body.ProcessingJobName).d) as JsonObject;
  }

  list(body: JsonObject): JsonObject {
    const v = new Validator();
    v.enumOf(body.StatusEquals, 'statusEquals', STATUSES);
    v.done();
    const page = listPage<Entry>({
      items: this.state.processing.values(),
      body,
      name: (e) => e.name,
      creationTime: (e) => e.d.CreationTime as number,
      lastModifiedTime: (e) => e.d.LastModifiedTime as number,
      status: (e) => e.d.ProcessingJobStatus as string,
      sortKeys: { Name: (e) => e.name, CreationTime: (e) => e.d.CreationTime as number, Status: (e) => e.d.ProcessingJobStatus as string },
      defaultSortBy: 'CreationTime',
      defaultSortOrder: 'Descending',
    });
    return {
      ProcessingJobSummaries: page.items.map((e) =>
        toApi({
          ProcessingJobName: e.name,
          ProcessingJobArn: e.d.ProcessingJobArn,
          CreationTime: e.d.CreationTime,
          ProcessingEndTime: e.d.ProcessingEndTime,
          LastModifiedTime: e.d.LastModifiedTime,
          ProcessingJobStatus: e.d.ProcessingJobStatus,
          FailureReason: e.d.FailureReason,
          ExitMessage: e.d.ExitMessage,
        }),
      ),
      NextToken: page.NextToken,
    };
  }

  stop(body: JsonObject): JsonObject {
    const e = this.get(body.ProcessingJobName);
    const s = e.d.ProcessingJobStatus as string;
    if (s === 'Stopping') return {};
    if (s !== 'InProgress') throw validationError(`The request was rejected because the processing job is in status ${s}.`);
    this.setStatus(e, 'Stopping');
    this.running.get(e.name.toLowerCase())?.ac.abort(new StopRequested('stop'));
    return {};
  }

  private setStatus(e: Entry, status: string, extra: Rec = {}): void {
    const changed = e.d.ProcessingJobStatus !== status;
    e.d.ProcessingJobStatus = status;
    Object.assign(e.d, extra);
    e.d.LastModifiedTime = Date.now();
    this.deps.markDirty();
    if (changed) publishState(this.deps, DETAIL_TYPES.processing, e.d.ProcessingJobArn as string, e);
  }

  private async run(e: Entry, signal: AbortSignal): Promise<void> {
    const { deps } = this;
    const name = e.name;
    const simulated = deps.faults.shouldSimulate(name);
    const stage = () => deps.faults.stageMs(3);
    let proc: RunningProcess | undefined;
    const dir = join(deps.dataDir, 'jobs', 'processing', name);
    try {
      await stageWait(deps.scheduler, stage(), signal);
      e.d.ProcessingStartTime = Date.now();
      e.d.LastModifiedTime = Date.now();
      deps.markDirty();
      if (deps.faults.shouldFail(name)) {
        await stageWait(deps.scheduler, stage(), signal);
        throw new JobFailure('AlgorithmError: Processing failed by local AWS fault injection (failJobs). See job logs for more information.');
      }
      if (simulated) {
        await stageWait(deps.scheduler, stage(), signal);
      } else {
        const app = e.d.AppSpecification as Rec;
        const image = resolveImage(app.ImageUri as string, deps.scriptImages);
        if (image.kind !== 'script') {
          throw new JobFailure(
            `ClientError: Local AWS cannot run processing image "${String(app.ImageUri)}". Map it to a local command with the scriptImages option.`,
          );
        }
        await freshDir(dir);
        const inputs = (e.d.ProcessingInputs as Rec[] | undefined) ?? [];
        const prep = async () => {
          for (const i of inputs) {
            const s3 = i.S3Input as Rec | undefined;
            if (!s3) continue;
            const local = containerPath(dir, (s3.LocalPath as string | undefined) ?? `/opt/ml/processing/input/${String(i.InputName)}`);
            await downloadS3(deps.s3, s3.S3Uri as string, s3.S3DataType as string, local);
          }
          for (const o of ((e.d.ProcessingOutputConfig as Rec | undefined)?.Outputs as Rec[] | undefined) ?? []) {
            const s3 = o.S3Output as Rec | undefined;
            if (s3) await freshDir(containerPath(dir, s3.LocalPath as string));
          }
          const res = e.d.ProcessingResources as Rec;
          await writeJson(join(dir, 'config', 'processingjobconfig.json'), { ProcessingJobName: name, ProcessingJobArn: e.d.ProcessingJobArn, ...e.d });
          await writeJson(join(dir, 'config', 'resourceconfig.json'), {
            current_host: 'algo-1',
            hosts: ['algo-1'],
            current_instance_type: ((res.ClusterConfig ?? {}) as Rec).InstanceType,
          });
          await freshDir(join(dir, 'output'));
        };
        await Promise.all([unlessStopped(prep(), signal), stageWait(deps.scheduler, stage(), signal)]);
        const log = new JobLog(deps.logs, '/aws/sagemaker/ProcessingJobs', name);
        const entry = (app.ContainerEntrypoint as string[] | undefined)?.map((a) => rewriteOptMl(a, dir));
        const args = ((app.ContainerArguments as string[] | undefined) ?? []).map((a) => rewriteOptMl(a, dir));
        const command = [...(entry ?? image.spec.command), ...args];
        proc = deps.runner.start({
          command,
          cwd: image.spec.cwd ?? dir,
          env: {
            ...(process.env as Record<string, string>),
            ...(image.spec.env ?? {}),
            ...stringMap(e.d.Environment),
            SM_OPT_ML: dir,
            PROCESSING_JOB_NAME: name,
          },
          onLine: (l) => log.line(l),
        });
        const r = this.running.get(name.toLowerCase());
        if (r) r.proc = proc;
        const exit = await unlessStopped(proc.exited, signal);
        let message = '';
        try {
          message = (await readFile(join(dir, 'output', 'message'), 'utf8')).trim().slice(0, 1024);
        } catch {
          /* optional */
        }
        if (message) e.d.ExitMessage = message;
        if (exit.code !== 0) {
          let reason = '';
          try {
            reason = (await readFile(join(dir, 'output', 'failure'), 'utf8')).trim();
          } catch {
            /* optional */
          }
          throw new JobFailure(
            (
              reason ||
              (exit.error
                ? `ClientError: Failed to start the processing command: ${exit.error}`
                : `AlgorithmError: See job logs for more information. Exit code: ${exit.code ?? exit.signal}`)
            ).slice(0, 1024),
          );
        }
        for (const o of ((e.d.ProcessingOutputConfig as Rec | undefined)?.Outputs as Rec[] | undefined) ?? []) {
          const s3 = o.S3Output as Rec | undefined;
          if (!s3) continue;
          try {
            await uploadDir(deps.s3, containerPath(dir, s3.LocalPath as string), s3.S3Uri as string);
          } catch (err) {
            throw new JobFailure(`ClientError: Failed to upload output ${String(o.OutputName)} to ${String(s3.S3Uri)}: ${(err as Error).message}`);
          }
        }
      }
      await stageWait(deps.scheduler, stage(), signal);
      this.setStatus(e, 'Completed', { ProcessingEndTime: Date.now() });
    } catch (err) {
      if (proc && proc.child.exitCode === null && proc.child.signalCode === null) await proc.kill();
      if (err instanceof StopRequested) {
        if (err.reason === 'shutdown' || this.closing) return;
        this.setStatus(e, 'Stopped', { ProcessingEndTime: Date.now() });
        return;
      }
      if (this.closing) return;
      const reason =
        err instanceof JobFailure || err instanceof DataDownloadError
          ? err.message
          : `InternalServerError: Local AWS failed to run the job: ${(err as Error).message}`;
      if (!(err instanceof JobFailure) && !(err instanceof DataDownloadError)) deps.logger.error({ err, job: name }, 'local-aws: processing job crashed');
      this.setStatus(e, 'Failed', { FailureReason: reason, ProcessingEndTime: Date.now() });
    } finally {
      this.running.delete(name.toLowerCase());
    }
  }

  recover(): void {
    for (const e of this.state.processing.values()) {
      const s = e.d.ProcessingJobStatus;
      if (s === 'InProgress' || s === 'Stopping')
        this.setStatus(e, 'Failed', { FailureReason: 'Local AWS restarted while the job was running', ProcessingEndTime: Date.now() });
    }
  }

  async shutdown(): Promise<void> {
    this.closing = true;
    for (const r of this.running.values()) r.ac.abort(new StopRequested('shutdown'));
    await Promise.all([...this.running.values()].map((r) => r.proc?.kill(500)));
  }
}
