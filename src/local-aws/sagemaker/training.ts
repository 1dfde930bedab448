/**
 * Training jobs: Create/Describe/List/Stop, and the run loop that walks the
 * statuses SageMaker reports (InProgress: Starting -> Downloading -> Training
 * -> Uploading; then Completed / Failed / Stopped, with Stopping in between),
 * publishing a state-change event on every status or secondary-status change.
 * Real jobs run a container as a child process (built-in KNN, or a
 * `scriptImages` command with the SageMaker container contract); simulated
 * jobs only walk the statuses on the shared scheduler.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AwsError, validationError } from '../errors.ts';
import { downloadS3, freshDir, packDir, uploadFile, writeJson, dirHasFiles, DataDownloadError } from '../jobs/workspace.ts';
import { tsNodeCommand, type RunningProcess } from '../jobs/runner.ts';
import type { TimerHandle } from '../scheduler.ts';
import { stringMap, type JsonObject } from '../util.ts';
import { arn, assertS3InputExists, listPage, tagsFrom, toApi, type Rec, type SageMakerDeps } from './common.ts';
import { KNN_METRIC_DEFINITIONS, resolveImage } from './images.ts';
import { decodeHp, JobLog, MetricCollector, stageWait, StopRequested, unlessStopped, type MetricDefinition } from './jobkit.ts';
import { DETAIL_TYPES, publishState } from './publish.ts';
import type { Entry, SageMakerState } from './state.ts';
import { ROLE_ARN_RE, S3_URI_RE, Validator, validateTags } from './validation.ts';

export const KNN_CONTAINER = new URL('../algorithms/knn/container.ts', import.meta.url);
const TERMINAL = new Set(['Completed', 'Failed', 'Stopped']);
const STATUSES = ['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped'];

/** A failure with a SageMaker-style FailureReason. */
export class JobFailure extends Error {}

interface Transition {
  Status: string;
  StartTime: number;
  EndTime?: number;
  StatusMessage?: string;
}

interface Running {
  abort: AbortController;
  proc?: RunningProcess;
}

export function validateTrainingDefinition(v: Validator, b: JsonObject, prefix = ''): void {
  const p = (s: string) => (prefix ? `${prefix}.${s}` : s);
  v.string(b.RoleArn, p('roleArn'), {
    required: true,
    min: 20,
    max: 2048,
    re: ROLE_ARN_RE,
    pattern: '^arn:aws[a-z\\-]*:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+$',
  });
  if (v.object(b.AlgorithmSpecification, p('algorithmSpecification'), true)) {
    const a = b.AlgorithmSpecification;
    v.string(a.TrainingImage, p('algorithmSpecification.trainingImage'), { max: 255 });
    if (a.TrainingImage === undefined && a.AlgorithmName === undefined) {
      v.errors.push(
        `Value null at '${p('algorithmSpecification.trainingImage')}' failed to satisfy constraint: Either TrainingImage or AlgorithmName must be specified`,
      );
    }
    v.enumOf(a.TrainingInputMode, p('algorithmSpecification.trainingInputMode'), ['Pipe', 'File', 'FastFile'], true);
    if (v.array(a.MetricDefinitions, p('algorithmSpecification.metricDefinitions'), { max: 40 })) {
      a.MetricDefinitions.forEach((m, i) => {
        const mp = p(`algorithmSpecification.metricDefinitions.${i + 1}.member`);
        if (!v.object(m, mp, true)) return;
        v.string(m.Name, `${mp}.name`, { required: true, min: 1, max: 255 });
        if (v.string(m.Regex, `${mp}.regex`, { required: true, min: 1, max: 500 })) {
          try {
            new RegExp(m.Regex);
          } catch {
            v.errors.push(`Value '${m.Regex}' at '${mp}.regex' failed to satisfy constraint: Member must be a valid regular expression`);
          }
        }
      });
    }
  }
  v.stringMap(b.HyperParameters ?? b.StaticHyperParameters, p(b.StaticHyperParameters !== undefined ? 'staticHyperParameters' : 'hyperParameters'), {
    maxEntries: 100,
    maxKey: 256,
    maxValue: 2500,
  });
  if (v.array(b.InputDataConfig, p('inputDataConfig'), { min: 1, max: 20 })) {
    const seen = new Set<string>();
    b.InputDataConfig.forEach((c, i) => {
      const cp = p(`inputDataConfig.${i + 1}.member`);
      if (!v.object(c, cp, true)) return;
      if (v.string(c.ChannelName, `${cp}.channelName`, { required: true, min: 1, max: 64, re: /^[A-Za-z0-9.\-_]+$/, pattern: '[A-Za-z0-9\\.\\-_]+' })) {
        if (seen.has(c.ChannelName))
          v.errors.push(`Value '${c.ChannelName}' at '${cp}.channelName' failed to satisfy constraint: Channel names must be unique`);
        seen.add(c.ChannelName);
      }
      v.enumOf(c.CompressionType, `${cp}.compressionType`, ['None', 'Gzip']);
      if (v.object(c.DataSource, `${cp}.dataSource`, true)) {
        const s3 = c.DataSource.S3DataSource;
        if (v.object(s3, `${cp}.dataSource.s3DataSource`, c.DataSource.FileSystemDataSource === undefined)) {
          v.enumOf(s3.S3DataType, `${cp}.dataSource.s3DataSource.s3DataType`, ['ManifestFile', 'S3Prefix', 'AugmentedManifestFile', 'Converse'], true);
          v.string(s3.S3Uri, `${cp}.dataSource.s3DataSource.s3Uri`, { required: true, max: 1024, re: S3_URI_RE, pattern: '^(https|s3)://([^/]+)/?(.*)$' });
          v.enumOf(s3.S3DataDistributionType, `${cp}.dataSource.s3DataSource.s3DataDistributionType`, ['FullyReplicated', 'ShardedByS3Key']);
        }
      }
    });
  }
  if (v.object(b.OutputDataConfig, p('outputDataConfig'), true)) {
    v.string(b.OutputDataConfig.S3OutputPath, p('outputDataConfig.s3OutputPath'), {
      required: true,
      max: 1024,
      re: S3_URI_RE,
      pattern: '^(https|s3)://([^/]+)/?(.*)$',
    });
  }
  if (v.object(b.ResourceConfig, p('resourceConfig'), true)) {
    const r = b.ResourceConfig;
    if (r.InstanceGroups === undefined) {
      v.string(r.InstanceType, p('resourceConfig.instanceType'), { required: true, re: /^ml\.[a-z0-9]+\.[a-z0-9]+$/, pattern: 'ml.<family>.<size>' });
      v.number(r.InstanceCount, p('resourceConfig.instanceCount'), { required: true, min: 0, int: true });
    }
    v.number(r.VolumeSizeInGB, p('resourceConfig.volumeSizeInGB'), { required: true, min: 0, int: true });
  }
  if (v.object(b.StoppingCondition, p('stoppingCondition'), true)) {
    v.number(b.StoppingCondition.MaxRuntimeInSeconds, p('stoppingCondition.maxRuntimeInSeconds'), { min: 1, int: true });
    v.number(b.StoppingCondition.MaxWaitTimeInSeconds, p('stoppingCondition.maxWaitTimeInSeconds'), { min: 1, int: true });
  }
  v.stringMap(b.Environment, p('environment'), { maxEntries: 100, maxKey: 512, maxValue: 512 });
}

export class TrainingService {
  private running = new Map<string, Running>();
  private simTimers = new Map<string, TimerHandle>();
  private terminalWaiters = new Map<string, Array<(e: Entry) => void>>();
  private closing = false;

  constructor(
    private readonly deps: SageMakerDeps,
    private readonly state: SageMakerState,
  ) {}

  private arnOf(name: string): string {
    return arn(this.deps, 'training-job', name);
  }

  private get(name: unknown): Entry {
    const e = typeof name === 'string' ? this.state.get('training', name) : undefined;
    // What SageMaker really answers for an unknown training job (not ResourceNotFound).
    if (!e) throw validationError('Requested resource not found.');
    return e;
  }

  create(body: JsonObject, opts: { tuningJobArn?: string } = {}): JsonObject {
    const v = new Validator();
    v.name(body.TrainingJobName, 'trainingJobName');
    validateTrainingDefinition(v, body);
    validateTags(v, body.Tags);
    v.done();
    const name = body.TrainingJobName as string;
    const jobArn = this.arnOf(name);
    if (this.state.get('training', name)) {
      throw new AwsError(
        'ResourceInUse',
        `Training job names must be unique within an AWS account and region, and a training job with this name already exists (${jobArn})`,
      );
    }
    for (const c of (body.InputDataConfig as Rec[] | undefined) ?? []) {
      const s3 = ((c.DataSource as Rec | undefined)?.S3DataSource as Rec | undefined) ?? undefined;
      if (s3 && typeof s3.S3Uri === 'string') assertS3InputExists(this.deps, s3.S3Uri, String(s3.S3DataType ?? 'S3Prefix'), body.RoleArn as string | undefined);
    }
    const now = Date.now();
    const outPath = (body.OutputDataConfig as Rec).S3OutputPath as string;
    const d: Rec = {
      TrainingJobName: name,
      TrainingJobArn: jobArn,
      TuningJobArn: opts.tuningJobArn,
      ModelArtifacts: { S3ModelArtifacts: `${outPath.replace(/\/+$/, '')}/${name}/output/model.tar.gz` },
      TrainingJobStatus: 'InProgress',
      SecondaryStatus: 'Starting',
      HyperParameters: stringMap(body.HyperParameters),
      AlgorithmSpecification: {
        ...(body.AlgorithmSpecification as Rec),
        EnableSageMakerMetricsTimeSeries: (body.AlgorithmSpecification as Rec).EnableSageMakerMetricsTimeSeries ?? false,
      },
      RoleArn: body.RoleArn,
      InputDataConfig: body.InputDataConfig,
      OutputDataConfig: body.OutputDataConfig,
      ResourceConfig: body.ResourceConfig,
      VpcConfig: body.VpcConfig,
      StoppingCondition: body.StoppingCondition,
      CreationTime: now,
      LastModifiedTime: now,
      SecondaryStatusTransitions: [{ Status: 'Starting', StartTime: now, StatusMessage: 'Preparing the instances for training' }] satisfies Transition[],
      EnableNetworkIsolation: body.EnableNetworkIsolation ?? false,
      EnableInterContainerTrafficEncryption: body.EnableInterContainerTrafficEncryption ?? false,
      EnableManagedSpotTraining: body.EnableManagedSpotTraining ?? false,
      CheckpointConfig: body.CheckpointConfig,
      Environment: body.Environment,
      RetryStrategy: body.RetryStrategy,
      ExperimentConfig: body.ExperimentConfig,
    };
    // Absent members stay absent (smaller records at 100k-job scale, and the wire omits them anyway).
    for (const k of Object.keys(d)) if (d[k] === undefined) delete d[k];
    const e: Entry = { name, d, tags: tagsFrom(body.Tags), meta: {} };
    this.state.set('training', name, e);
    this.deps.markDirty();
    publishState(this.deps, DETAIL_TYPES.training, jobArn, e);
    if (this.deps.faults.shouldSimulate(name)) {
      this.scheduleSim(e);
      return { TrainingJobArn: jobArn };
    }
    const abort = new AbortController();
    this.running.set(name.toLowerCase(), { abort });
    void this.run(e, abort.signal);
    return { TrainingJobArn: jobArn };
  }

  describe(body: JsonObject): JsonObject {
    return toApi(this.get(body.TrainingJobName).d) as JsonObject;
  }

  list(body: JsonObject, extra?: (e: Entry) => boolean): JsonObject {
    const v = new Validator();
    v.enumOf(body.StatusEquals, 'statusEquals', STATUSES);
    v.done();
    const page = listPage<Entry>({
      items: this.state.training.values(),
      body,
      name: (e) => e.name,
      creationTime: (e) => e.d.CreationTime as number,
      lastModifiedTime: (e) => e.d.LastModifiedTime as number,
      status: (e) => e.d.TrainingJobStatus as string,
      sortKeys: { Name: (e) => e.name, CreationTime: (e) => e.d.CreationTime as number, Status: (e) => e.d.TrainingJobStatus as string },
      defaultSortBy: 'CreationTime',
      defaultSortOrder: 'Ascending',
      statusAfterPage: true,
      extraFilter: extra,
    });
    return {
      TrainingJobSummaries: page.items.map((e) =>
        toApi({
          TrainingJobName: e.name,
          TrainingJobArn: e.d.TrainingJobArn,
          CreationTime: e.d.CreationTime,
          TrainingEndTime: e.d.TrainingEndTime,
          LastModifiedTime: e.d.LastModifiedTime,
          TrainingJobStatus: e.d.TrainingJobStatus,
          SecondaryStatus: e.d.SecondaryStatus,
        }),
      ),
      NextToken: page.NextToken,
    };
  }

  stop(body: JsonObject): JsonObject {
    const e = this.get(body.TrainingJobName);
    const status = e.d.TrainingJobStatus as string;
    if (status === 'Stopping') return {};
    if (status !== 'InProgress') {
      throw validationError(`The request was rejected because the training job is in status ${status}.`);
    }
    this.transition(e, { status: 'Stopping', secondary: 'Stopping', message: 'Stopping the training job' });
    const sim = this.simTimers.get(e.name.toLowerCase());
    if (sim) {
      this.deps.scheduler.cancel(sim);
      this.scheduleSim(e, Math.min(this.deps.faults.current.stageDelayMs, 1000));
    }
    this.running.get(e.name.toLowerCase())?.abort.abort(new StopRequested('stop'));
    return {};
  }

  /**
   * Simulated jobs are a small state machine on the shared scheduler rather
   * than an async task: no AbortController, promise chain or process per job,
   * which is what keeps 100k concurrent simulated jobs affordable.
   */
  private scheduleSim(e: Entry, delay = this.deps.faults.stageMs(4)): void {
    const key = e.name.toLowerCase();
    this.simTimers.set(
      key,
      this.deps.scheduler.after(delay, () => this.advanceSim(e)),
    );
  }

  private advanceSim(e: Entry): void {
    const key = e.name.toLowerCase();
    this.simTimers.delete(key);
    if (this.closing) return;
    switch (e.d.SecondaryStatus) {
      case 'Starting':
        this.transition(e, { secondary: 'Downloading', message: 'Downloading input data', extra: { TrainingStartTime: Date.now() } });
        break;
      case 'Downloading':
        this.transition(e, { secondary: 'Training', message: 'Training image download completed. Training in progress.' });
        break;
      case 'Training':
        if (this.deps.faults.shouldFail(e.name)) {
          const reason = 'AlgorithmError: Training failed by local AWS fault injection (failJobs). See job logs for more information.';
          this.transition(e, { status: 'Failed', secondary: 'Failed', message: 'Training job failed', failureReason: reason, extra: this.finishTimes(e) });
          return;
        }
        this.transition(e, { secondary: 'Uploading', message: 'Uploading generated training model' });
        break;
      case 'Uploading':
        this.transition(e, { status: 'Completed', secondary: 'Completed', message: 'Training job completed', extra: this.finishTimes(e) });
        return;
      case 'Stopping':
        this.transition(e, { status: 'Stopped', secondary: 'Stopped', message: 'Training job stopped', extra: this.finishTimes(e) });
        return;
      default:
        return;
    }
    this.scheduleSim(e);
  }

  /** Resolves when the job reaches Completed/Failed/Stopped (used by tuning jobs). */
  whenTerminal(name: string): Promise<Entry> {
    const e = this.state.get('training', name);
    if (e && TERMINAL.has(e.d.TrainingJobStatus as string)) return Promise.resolve(e);
    return new Promise((resolve) => {
      const k = name.toLowerCase();
      this.terminalWaiters.set(k, [...(this.terminalWaiters.get(k) ?? []), resolve]);
    });
  }

  private transition(e: Entry, u: { status?: string; secondary?: string; message?: string; failureReason?: string; extra?: Rec }): void {
    const now = Date.now();
    const d = e.d;
    const changed = (u.status !== undefined && u.status !== d.TrainingJobStatus) || (u.secondary !== undefined && u.secondary !== d.SecondaryStatus);
    if (u.secondary && u.secondary !== d.SecondaryStatus) {
      const tr = d.SecondaryStatusTransitions as Transition[];
      const last = tr[tr.length - 1];
      if (last && last.EndTime === undefined) last.EndTime = now;
      const t: Transition = { Status: u.secondary, StartTime: now, StatusMessage: u.message };
      if (TERMINAL.has(u.secondary) || u.secondary === 'MaxRuntimeExceeded') t.EndTime = now;
      tr.push(t);
      d.SecondaryStatus = u.secondary;
    }
    if (u.status) d.TrainingJobStatus = u.status;
    if (u.failureReason !== undefined) d.FailureReason = u.failureReason;
    if (u.extra) Object.assign(d, u.extra);
    d.LastModifiedTime = now;
    this.deps.markDirty();
    if (changed) publishState(this.deps, DETAIL_TYPES.training, d.TrainingJobArn as string, e);
    if (TERMINAL.has(d.TrainingJobStatus as string)) {
      const k = e.name.toLowerCase();
      const ws = this.terminalWaiters.get(k);
      this.terminalWaiters.delete(k);
      for (const w of ws ?? []) w(e);
    }
  }

  private finishTimes(e: Entry): Rec {
    const now = Date.now();
    const start = (e.d.TrainingStartTime as number | undefined) ?? (e.d.CreationTime as number);
    const secs = Math.max(1, Math.round((now - start) / 1000));
    return { TrainingEndTime: now, TrainingTimeInSeconds: secs, BillableTimeInSeconds: secs };
  }

  private jobDir(name: string): string {
    return join(this.deps.dataDir, 'jobs', 'training', name);
  }

  /** Lays out /opt/ml for the container and downloads every channel. */
  private async prepare(e: Entry, dir: string): Promise<void> {
    await freshDir(dir);
    const channels = (e.d.InputDataConfig as Rec[] | undefined) ?? [];
    const dataConfig: Record<string, Rec> = {};
    for (const c of channels) {
      const name = c.ChannelName as string;
      const s3 = ((c.DataSource as Rec).S3DataSource ?? {}) as Rec;
      dataConfig[name] = {
        ContentType: c.ContentType,
        TrainingInputMode: c.InputMode ?? (e.d.AlgorithmSpecification as Rec).TrainingInputMode,
        S3DistributionType: s3.S3DataDistributionType ?? 'FullyReplicated',
        RecordWrapperType: c.RecordWrapperType ?? 'None',
      };
      if (typeof s3.S3Uri === 'string') await downloadS3(this.deps.s3, s3.S3Uri, String(s3.S3DataType ?? 'S3Prefix'), join(dir, 'input', 'data', name));
    }
    const rc = (e.d.ResourceConfig ?? {}) as Rec;
    await writeJson(join(dir, 'input', 'config', 'hyperparameters.json'), e.d.HyperParameters ?? {});
    await writeJson(join(dir, 'input', 'config', 'inputdataconfig.json'), dataConfig);
    await writeJson(join(dir, 'input', 'config', 'resourceconfig.json'), {
      current_host: 'algo-1',
      current_instance_type: rc.InstanceType ?? 'ml.m5.large',
      current_group_name: 'homogeneousCluster',
      hosts: ['algo-1'],
      instance_groups: [{ instance_group_name: 'homogeneousCluster', instance_type: rc.InstanceType ?? 'ml.m5.large', hosts: ['algo-1'] }],
      network_interface_name: 'eth0',
    });
    for (const sub of ['model', 'output/data', 'output/intermediate', 'code']) await freshDir(join(dir, sub));
  }

  /** SageMaker's training-toolkit environment (SM_*), with /opt/ml replaced by the job dir. */
  private containerEnv(e: Entry, dir: string, extra: Record<string, string>): Record<string, string> {
    const hps = (e.d.HyperParameters ?? {}) as Record<string, string>;
    const channels = ((e.d.InputDataConfig as Rec[] | undefined) ?? []).map((c) => c.ChannelName as string);
    const userHps: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(hps)) if (!k.startsWith('sagemaker_')) userHps[k] = decodeHp(v);
    const rc = (e.d.ResourceConfig ?? {}) as Rec;
    const userArgs = Object.entries(userHps).flatMap(([k, v]) => [`--${k}`, typeof v === 'string' ? v : JSON.stringify(v)]);
    const env: Record<string, string> = {
      SM_OPT_ML: dir,
      SM_MODEL_DIR: join(dir, 'model'),
      SM_INPUT_DIR: join(dir, 'input'),
      SM_INPUT_CONFIG_DIR: join(dir, 'input', 'config'),
      SM_OUTPUT_DIR: join(dir, 'output'),
      SM_OUTPUT_DATA_DIR: join(dir, 'output', 'data'),
      SM_OUTPUT_INTERMEDIATE_DIR: join(dir, 'output', 'intermediate'),
      SM_CHANNELS: JSON.stringify(channels),
      SM_HPS: JSON.stringify(userHps),
      SM_USER_ARGS: JSON.stringify(userArgs),
      SM_CURRENT_HOST: 'algo-1',
      SM_CURRENT_INSTANCE_TYPE: String(rc.InstanceType ?? 'ml.m5.large'),
      SM_HOSTS: JSON.stringify(['algo-1']),
      SM_NETWORK_INTERFACE_NAME: 'eth0',
      SM_NUM_CPUS: '1',
      SM_NUM_GPUS: '0',
      SM_LOG_LEVEL: '20',
      SM_INPUT_DATA_CONFIG: JSON.stringify(
        Object.fromEntries(
          ((e.d.InputDataConfig as Rec[] | undefined) ?? []).map((c) => [
            c.ChannelName,
            { TrainingInputMode: 'File', S3DistributionType: 'FullyReplicated', RecordWrapperType: 'None', ContentType: c.ContentType },
          ]),
        ),
      ),
      SM_RESOURCE_CONFIG: JSON.stringify({ current_host: 'algo-1', hosts: ['algo-1'], network_interface_name: 'eth0' }),
      TRAINING_JOB_NAME: e.name,
      TRAINING_JOB_ARN: e.d.TrainingJobArn as string,
    };
    for (const c of channels) env[`SM_CHANNEL_${c.toUpperCase()}`] = join(dir, 'input', 'data', c);
    for (const [k, v] of Object.entries(userHps)) env[`SM_HP_${k.toUpperCase()}`] = typeof v === 'string' ? v : JSON.stringify(v);
    env.SM_TRAINING_ENV = JSON.stringify({
      channel_input_dirs: Object.fromEntries(channels.map((c) => [c, join(dir, 'input', 'data', c)])),
      current_host: 'algo-1',
      hosts: ['algo-1'],
      hyperparameters: userHps,
      input_config_dir: env.SM_INPUT_CONFIG_DIR,
      input_data_config: JSON.parse(env.SM_INPUT_DATA_CONFIG) as unknown,
      input_dir: env.SM_INPUT_DIR,
      job_name: e.name,
      log_level: 20,
      model_dir: env.SM_MODEL_DIR,
      num_cpus: 1,
      num_gpus: 0,
      output_data_dir: env.SM_OUTPUT_DATA_DIR,
      output_dir: env.SM_OUTPUT_DIR,
      resource_config: JSON.parse(env.SM_RESOURCE_CONFIG) as unknown,
      user_args: userArgs,
    });
    return { ...(process.env as Record<string, string>), ...extra, ...stringMap(e.d.Environment), ...env };
  }

  private async run(e: Entry, signal: AbortSignal): Promise<void> {
    const { deps } = this;
    const name = e.name;
    const stage = () => deps.faults.stageMs(4);
    let proc: RunningProcess | undefined;
    let maxRuntimeTimer: TimerHandle | undefined;
    let log: JobLog | undefined;
    const dir = this.jobDir(name);
    try {
      await stageWait(deps.scheduler, stage(), signal);
      this.transition(e, { secondary: 'Downloading', message: 'Downloading input data', extra: { TrainingStartTime: Date.now() } });
      const image = resolveImage((e.d.AlgorithmSpecification as Rec).TrainingImage as string | undefined, deps.scriptImages);
      if (image.kind === 'unknown') {
        await stageWait(deps.scheduler, stage(), signal);
        throw new JobFailure(
          `ClientError: Local AWS cannot run training image "${String((e.d.AlgorithmSpecification as Rec).TrainingImage ?? (e.d.AlgorithmSpecification as Rec).AlgorithmName)}". Use a built-in algorithm image (knn) or map the image to a local command with the scriptImages option.`,
        );
      }
      await Promise.all([unlessStopped(this.prepare(e, dir), signal), stageWait(deps.scheduler, stage(), signal)]);

      this.transition(e, { secondary: 'Training', message: 'Training image download completed. Training in progress.' });
      const maxRuntime = Number(((e.d.StoppingCondition ?? {}) as Rec).MaxRuntimeInSeconds ?? 0);
      const ac = new AbortController();
      const onStop = () => ac.abort(signal.reason);
      signal.addEventListener('abort', onStop, { once: true });
      if (maxRuntime > 0) maxRuntimeTimer = deps.scheduler.after(maxRuntime * 1000, () => ac.abort(new StopRequested('maxRuntime')));
      const trainSignal = ac.signal;
      if (deps.faults.shouldFail(name)) {
        await stageWait(deps.scheduler, stage(), trainSignal);
        throw new JobFailure('AlgorithmError: Training failed by local AWS fault injection (failJobs). See job logs for more information.');
      }
      {
        log = new JobLog(deps.logs, '/aws/sagemaker/TrainingJobs', name);
        const spec = (e.d.AlgorithmSpecification ?? {}) as Rec;
        const defs: MetricDefinition[] = [
          ...((spec.MetricDefinitions as MetricDefinition[] | undefined) ?? []),
          ...(image.kind === 'knn' ? KNN_METRIC_DEFINITIONS : []),
        ];
        const metrics = new MetricCollector(defs);
        const jobLog = log;
        let command: string[];
        let cwd = dir;
        let extraEnv: Record<string, string> = {};
        if (image.kind === 'knn') command = tsNodeCommand(KNN_CONTAINER, 'train');
        else if (image.kind === 'script') {
          const userArgs = JSON.parse(this.containerEnv(e, dir, {}).SM_USER_ARGS) as string[];
          command = [...image.spec.command, ...userArgs];
          cwd = image.spec.cwd ?? dir;
          extraEnv = image.spec.env ?? {};
        } else throw new JobFailure('ClientError: unsupported image');
        proc = deps.runner.start({
          command,
          cwd,
          env: this.containerEnv(e, dir, extraEnv),
          onLine: (l) => {
            jobLog.line(l);
            metrics.line(l);
          },
        });
        const r = this.running.get(name.toLowerCase());
        if (r) r.proc = proc;
        const [exit] = await Promise.all([unlessStopped(proc.exited, trainSignal), stageWait(deps.scheduler, stage(), trainSignal)]);
        e.d.FinalMetricDataList = metrics.final();
        if (exit.code !== 0) {
          let reason = '';
          try {
            reason = (await readFile(join(dir, 'output', 'failure'), 'utf8')).trim();
          } catch {
            /* no failure file */
          }
          if (!reason)
            reason = exit.error
              ? `ClientError: Failed to start the training command: ${exit.error}`
              : `AlgorithmError: See job logs for more information. Exit code: ${exit.code ?? exit.signal}`;
          throw new JobFailure(reason.slice(0, 1024));
        }
      }
      signal.removeEventListener('abort', onStop);
      deps.scheduler.cancel(maxRuntimeTimer);

      this.transition(e, { secondary: 'Uploading', message: 'Uploading generated training model' });
      const model = ((e.d.ModelArtifacts ?? {}) as Rec).S3ModelArtifacts as string;
      {
        const upload = async () => {
          const tarFile = join(dir, 'model.tar.gz');
          await packDir(join(dir, 'model'), tarFile);
          await uploadFile(deps.s3, tarFile, model);
          if (await dirHasFiles(join(dir, 'output', 'data'))) {
            const outTar = join(dir, 'output.tar.gz');
            await packDir(join(dir, 'output', 'data'), outTar);
            await uploadFile(deps.s3, outTar, model.replace(/model\.tar\.gz$/, 'output.tar.gz'));
          }
        };
        await Promise.all([
          unlessStopped(
            upload().catch((err: unknown) => {
              throw new JobFailure(`ClientError: Failed to upload model artifacts to ${model}: ${(err as Error).message}`);
            }),
            signal,
          ),
          stageWait(deps.scheduler, stage(), signal),
        ]);
      }
      this.transition(e, { status: 'Completed', secondary: 'Completed', message: 'Training job completed', extra: this.finishTimes(e) });
    } catch (err) {
      deps.scheduler.cancel(maxRuntimeTimer);
      if (proc && proc.child.exitCode === null && proc.child.signalCode === null) await proc.kill();
      if (err instanceof StopRequested) {
        if (err.reason === 'shutdown' || this.closing) return; // restart recovery marks it Failed
        await new Promise((r) => setTimeout(r, Math.min(deps.faults.current.stageDelayMs, 1000)));
        if (err.reason === 'maxRuntime') {
          log?.line('Training job stopped: MaxRuntimeInSeconds exceeded');
          this.transition(e, {
            status: 'Stopped',
            secondary: 'MaxRuntimeExceeded',
            message: 'Job stopped because it exceeded the MaxRuntimeInSeconds limit',
            extra: this.finishTimes(e),
          });
        } else {
          this.transition(e, { status: 'Stopped', secondary: 'Stopped', message: 'Training job stopped', extra: this.finishTimes(e) });
        }
        return;
      }
      if (this.closing) return;
      const reason =
        err instanceof JobFailure || err instanceof DataDownloadError
          ? err.message
          : `InternalServerError: Local AWS failed to run the job: ${(err as Error)?.message ?? String(err)}`;
      if (!(err instanceof JobFailure) && !(err instanceof DataDownloadError)) deps.logger.error({ err, job: name }, 'local-aws: training job crashed');
      log?.line(reason);
      this.transition(e, { status: 'Failed', secondary: 'Failed', message: 'Training job failed', failureReason: reason, extra: this.finishTimes(e) });
    } finally {
      this.running.delete(name.toLowerCase());
    }
  }

  /** After a restart: jobs that were running cannot be resumed, so they fail the way the issue describes. */
  recover(): void {
    for (const e of this.state.training.values()) {
      const s = e.d.TrainingJobStatus;
      if (s === 'InProgress' || s === 'Stopping') {
        this.transition(e, {
          status: 'Failed',
          secondary: 'Failed',
          message: 'Training job failed',
          failureReason: 'Local AWS restarted while the job was running',
          extra: this.finishTimes(e),
        });
      }
    }
  }

  async shutdown(): Promise<void> {
    this.closing = true;
    for (const r of this.running.values()) r.abort.abort(new StopRequested('shutdown'));
    await Promise.all([...this.running.values()].map((r) => r.proc?.kill(500)));
  }
}
