/**
 * Hyperparameter tuning: launches real training jobs (`<tuning>-NNN-<hash>`,
 * at most MaxParallelTrainingJobs at a time, MaxNumberOfTrainingJobs in all)
 * over the parameter ranges (random search; Grid enumerates categorical
 * values), reads each job's objective metric from its FinalMetricDataList and
 * keeps BestTrainingJob, TrainingJobStatusCounters and ObjectiveStatusCounters
 * current.
 */
import { AwsError, validationError } from '../errors.ts';
import { mulberry32 } from '../../util/prng.ts';
import { shortHash, type JsonObject } from '../util.ts';
import { arn, listPage, tagsFrom, toApi, type Rec, type SageMakerDeps } from './common.ts';
import { DETAIL_TYPES, publishState } from './publish.ts';
import type { Entry, SageMakerState } from './state.ts';
import { validateTrainingDefinition, type TrainingService } from './training.ts';
import { Validator, validateTags } from './validation.ts';

const STATUSES = ['Completed', 'InProgress', 'Failed', 'Stopped', 'Stopping', 'Deleting', 'DeleteFailed'];

interface Ranges {
  IntegerParameterRanges?: Array<{ Name: string; MinValue: string; MaxValue: string; ScalingType?: string }>;
  ContinuousParameterRanges?: Array<{ Name: string; MinValue: string; MaxValue: string; ScalingType?: string }>;
  CategoricalParameterRanges?: Array<{ Name: string; Values: string[] }>;
}

function sampleScaled(r: () => number, min: number, max: number, scaling: string | undefined): number {
  if ((scaling === 'Logarithmic' || scaling === 'Auto') && min > 0 && max / min >= 100) {
    return Math.exp(Math.log(min) + r() * (Math.log(max) - Math.log(min)));
  }
  if (scaling === 'ReverseLogarithmic' && max < 1) {
    return 1 - Math.exp(Math.log(1 - max) + r() * (Math.log(1 - min) - Math.log(1 - max)));
  }
  return min + r() * (max - min);
}

export class TuningService {
  private stopFlags = new Map<string, boolean>();
  private closing = false;

  constructor(
    private readonly deps: SageMakerDeps,
    private readonly state: SageMakerState,
    private readonly training: TrainingService,
  ) {}

  private arnOf(name: string): string {
    return arn(this.deps, 'hyper-parameter-tuning-job', name);
  }

  private get(name: unknown): Entry {
    const e = typeof name === 'string' ? this.state.get('tuning', name) : undefined;
    if (!e) throw new AwsError('ResourceNotFound', `Amazon SageMaker can't find a tuning job with name ${String(name)}`);
    return e;
  }

  create(body: JsonObject): JsonObject {
    const v = new Validator();
    v.name(body.HyperParameterTuningJobName, 'hyperParameterTuningJobName', 32);
    let ranges: Ranges = {};
    if (v.object(body.HyperParameterTuningJobConfig, 'hyperParameterTuningJobConfig', true)) {
      const c = body.HyperParameterTuningJobConfig;
      v.enumOf(c.Strategy, 'hyperParameterTuningJobConfig.strategy', ['Bayesian', 'Random', 'Hyperband', 'Grid'], true);
      if (v.object(c.ResourceLimits, 'hyperParameterTuningJobConfig.resourceLimits', true)) {
        v.number(c.ResourceLimits.MaxParallelTrainingJobs, 'hyperParameterTuningJobConfig.resourceLimits.maxParallelTrainingJobs', {
          required: true,
          min: 1,
          int: true,
        });
        v.number(c.ResourceLimits.MaxNumberOfTrainingJobs, 'hyperParameterTuningJobConfig.resourceLimits.maxNumberOfTrainingJobs', {
          required: c.Strategy !== 'Grid',
          min: 1,
          int: true,
        });
      }
      if (v.object(c.HyperParameterTuningJobObjective, 'hyperParameterTuningJobConfig.hyperParameterTuningJobObjective', c.Strategy !== 'Hyperband')) {
        v.enumOf(
          c.HyperParameterTuningJobObjective.Type,
          'hyperParameterTuningJobConfig.hyperParameterTuningJobObjective.type',
          ['Maximize', 'Minimize'],
          true,
        );
        v.string(c.HyperParameterTuningJobObjective.MetricName, 'hyperParameterTuningJobConfig.hyperParameterTuningJobObjective.metricName', {
          required: true,
          min: 1,
          max: 255,
        });
      }
      if (v.object(c.ParameterRanges, 'hyperParameterTuningJobConfig.parameterRanges')) ranges = c.ParameterRanges as Ranges;
    }
    if (body.TrainingJobDefinitions !== undefined)
      v.errors.push("Value at 'trainingJobDefinitions' failed to satisfy constraint: local AWS supports a single TrainingJobDefinition");
    if (v.object(body.TrainingJobDefinition, 'trainingJobDefinition', true)) validateTrainingDefinition(v, body.TrainingJobDefinition, 'trainingJobDefinition');
    validateTags(v, body.Tags);
    v.done();
    const tuned = [...(ranges.IntegerParameterRanges ?? []), ...(ranges.ContinuousParameterRanges ?? []), ...(ranges.CategoricalParameterRanges ?? [])].map(
      (r) => r.Name,
    );
    const stat = Object.keys(((body.TrainingJobDefinition as Rec).StaticHyperParameters ?? {}) as Rec);
    const overlap = tuned.filter((n) => stat.includes(n));
    if (overlap.length)
      throw validationError(
        `The hyperparameter tuning job that you requested has the following hyperparameters that are both static and tunable: [${overlap.join(', ')}]`,
      );
    for (const r of [...(ranges.IntegerParameterRanges ?? []), ...(ranges.ContinuousParameterRanges ?? [])]) {
      if (!(Number(r.MinValue) <= Number(r.MaxValue)))
        throw validationError(`The MinValue (${r.MinValue}) of hyperparameter ${r.Name} must be less than or equal to its MaxValue (${r.MaxValue}).`);
    }
    const config = body.HyperParameterTuningJobConfig as Rec;
    if (config.Strategy === 'Grid' && ((ranges.IntegerParameterRanges?.length ?? 0) > 0 || (ranges.ContinuousParameterRanges?.length ?? 0) > 0)) {
      throw validationError('Grid search supports only categorical hyperparameter ranges.');
    }
    const name = body.HyperParameterTuningJobName as string;
    const jobArn = this.arnOf(name);
    if (this.state.get('tuning', name)) {
      throw new AwsError(
        'ResourceInUse',
        `Hyperparameter tuning job names must be unique within an AWS account and region, and a job with this name already exists (${jobArn})`,
      );
    }
    const now = Date.now();
    const d: Rec = {
      HyperParameterTuningJobName: name,
      HyperParameterTuningJobArn: jobArn,
      HyperParameterTuningJobConfig: config,
      TrainingJobDefinition: body.TrainingJobDefinition,
      HyperParameterTuningJobStatus: 'InProgress',
      CreationTime: now,
      LastModifiedTime: now,
      TrainingJobStatusCounters: { Completed: 0, InProgress: 0, RetryableError: 0, NonRetryableError: 0, Stopped: 0 },
      ObjectiveStatusCounters: { Succeeded: 0, Pending: 0, Failed: 0 },
      WarmStartConfig: body.WarmStartConfig,
    };
    const e: Entry = { name, d, tags: tagsFrom(body.Tags), meta: {} };
    this.state.set('tuning', name, e);
    this.deps.markDirty();
    publishState(this.deps, DETAIL_TYPES.tuning, jobArn, e);
    void this.run(e);
    return { HyperParameterTuningJobArn: jobArn };
  }

  describe(body: JsonObject): JsonObject {
    return toApi(this.get(body.HyperParameterTuningJobName).d) as JsonObject;
  }

  list(body: JsonObject): JsonObject {
    const v = new Validator();
    v.enumOf(body.StatusEquals, 'statusEquals', STATUSES);
    v.done();
    const page = listPage<Entry>({
      items: this.state.tuning.values(),
      body,
      name: (e) => e.name,
      creationTime: (e) => e.d.CreationTime as number,
      lastModifiedTime: (e) => e.d.LastModifiedTime as number,
      status: (e) => e.d.HyperParameterTuningJobStatus as string,
      sortKeys: { Name: (e) => e.name, CreationTime: (e) => e.d.CreationTime as number, Status: (e) => e.d.HyperParameterTuningJobStatus as string },
      defaultSortBy: 'Name',
      defaultSortOrder: 'Ascending',
    });
    return {
      HyperParameterTuningJobSummaries: page.items.map((e) =>
        toApi({
          HyperParameterTuningJobName: e.name,
          HyperParameterTuningJobArn: e.d.HyperParameterTuningJobArn,
          HyperParameterTuningJobStatus: e.d.HyperParameterTuningJobStatus,
          Strategy: (e.d.HyperParameterTuningJobConfig as Rec).Strategy,
          CreationTime: e.d.CreationTime,
          HyperParameterTuningEndTime: e.d.HyperParameterTuningEndTime,
          LastModifiedTime: e.d.LastModifiedTime,
          TrainingJobStatusCounters: e.d.TrainingJobStatusCounters,
          ObjectiveStatusCounters: e.d.ObjectiveStatusCounters,
          ResourceLimits: (e.d.HyperParameterTuningJobConfig as Rec).ResourceLimits,
        }),
      ),
      NextToken: page.NextToken,
    };
  }

  listTrainingJobs(body: JsonObject): JsonObject {
    const t = this.get(body.HyperParameterTuningJobName);
    const tuningArn = t.d.HyperParameterTuningJobArn;
    const v = new Validator();
    v.enumOf(body.StatusEquals, 'statusEquals', ['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped']);
    v.enumOf(body.SortBy, 'sortBy', ['Name', 'CreationTime', 'Status', 'FinalObjectiveMetricValue']);
    v.done();
    const objective = (t.d.HyperParameterTuningJobConfig as Rec).HyperParameterTuningJobObjective as Rec | undefined;
    const metricOf = (e: Entry) => (e.meta.objective as number | undefined) ?? this.objectiveValue(e, objective);
    const sortBy = (body.SortBy as string | undefined) ?? 'Name';
    const page = listPage<Entry>({
      items: [...this.state.training.values()].filter(
        (e) => e.d.TuningJobArn === tuningArn && (sortBy !== 'FinalObjectiveMetricValue' || metricOf(e) !== undefined),
      ),
      body,
      name: (e) => e.name,
      creationTime: (e) => e.d.CreationTime as number,
      status: (e) => e.d.TrainingJobStatus as string,
      sortKeys: {
        Name: (e) => e.name,
        CreationTime: (e) => e.d.CreationTime as number,
        Status: (e) => e.d.TrainingJobStatus as string,
        FinalObjectiveMetricValue: (e) => metricOf(e) ?? 0,
      },
      defaultSortBy: 'Name',
      defaultSortOrder: 'Ascending',
    });
    return { TrainingJobSummaries: page.items.map((e) => toApi(this.summary(e, t, objective))), NextToken: page.NextToken };
  }

  stop(body: JsonObject): JsonObject {
    const e = this.get(body.HyperParameterTuningJobName);
    const s = e.d.HyperParameterTuningJobStatus;
    if (s === 'Stopping') return {};
    if (s !== 'InProgress') throw validationError(`The request was rejected because the tuning job is in status ${String(s)}.`);
    this.setStatus(e, 'Stopping');
    this.stopFlags.set(e.name.toLowerCase(), true);
    for (const t of this.state.training.values()) {
      if (t.d.TuningJobArn === e.d.HyperParameterTuningJobArn && t.d.TrainingJobStatus === 'InProgress') {
        try {
          this.training.stop({ TrainingJobName: t.name });
        } catch {
          /* raced to a terminal state */
        }
      }
    }
    return {};
  }

  private setStatus(e: Entry, status: string, extra: Rec = {}): void {
    const changed = e.d.HyperParameterTuningJobStatus !== status;
    e.d.HyperParameterTuningJobStatus = status;
    Object.assign(e.d, extra);
    e.d.LastModifiedTime = Date.now();
    this.deps.markDirty();
    if (changed) publishState(this.deps, DETAIL_TYPES.tuning, e.d.HyperParameterTuningJobArn as string, e);
  }

  /** The objective from a training job's final metrics (falls back from test:X to train:X when there is no test channel). */
  private objectiveValue(t: Entry, objective: Rec | undefined): number | undefined {
    if (!objective) return undefined;
    const metrics = (t.d.FinalMetricDataList as Array<{ MetricName: string; Value: number }> | undefined) ?? [];
    const want = objective.MetricName as string;
    const m = metrics.find((x) => x.MetricName === want) ?? metrics.find((x) => x.MetricName === want.replace(/^test:/, 'train:'));
    return m?.Value;
  }

  private summary(t: Entry, tuning: Entry, objective: Rec | undefined): Rec {
    const value = this.objectiveValue(t, objective);
    const status = t.d.TrainingJobStatus as string;
    return {
      TrainingJobName: t.name,
      TrainingJobArn: t.d.TrainingJobArn,
      TuningJobName: tuning.name,
      CreationTime: t.d.CreationTime,
      TrainingStartTime: t.d.TrainingStartTime,
      TrainingEndTime: t.d.TrainingEndTime,
      TrainingJobStatus: status,
      TunedHyperParameters: t.meta.tuned ?? {},
      FailureReason: t.d.FailureReason,
      FinalHyperParameterTuningJobObjectiveMetric:
        value !== undefined && objective ? { Type: objective.Type, MetricName: objective.MetricName, Value: value } : undefined,
      ObjectiveStatus: status === 'Completed' ? (value !== undefined ? 'Succeeded' : 'Failed') : status === 'InProgress' ? 'Pending' : 'Failed',
    };
  }

  private combos(ranges: Ranges, strategy: string, max: number, rand: () => number): Array<Record<string, string>> {
    if (strategy === 'Grid') {
      let out: Array<Record<string, string>> = [{}];
      for (const c of ranges.CategoricalParameterRanges ?? []) out = out.flatMap((o) => c.Values.map((v) => ({ ...o, [c.Name]: v })));
      return out.slice(0, max);
    }
    const out: Array<Record<string, string>> = [];
    for (let i = 0; i < max; i++) {
      const hp: Record<string, string> = {};
      for (const r of ranges.IntegerParameterRanges ?? [])
        hp[r.Name] = String(Math.min(Number(r.MaxValue), Math.floor(sampleScaled(rand, Number(r.MinValue), Number(r.MaxValue) + 1, r.ScalingType))));
      for (const r of ranges.ContinuousParameterRanges ?? []) hp[r.Name] = String(sampleScaled(rand, Number(r.MinValue), Number(r.MaxValue), r.ScalingType));
      for (const r of ranges.CategoricalParameterRanges ?? []) hp[r.Name] = r.Values[Math.floor(rand() * r.Values.length)];
      out.push(hp);
    }
    return out;
  }

  private async run(e: Entry): Promise<void> {
    const { deps } = this;
    const key = e.name.toLowerCase();
    const config = e.d.HyperParameterTuningJobConfig as Rec;
    const limits = config.ResourceLimits as Rec;
    const objective = config.HyperParameterTuningJobObjective as Rec | undefined;
    const def = e.d.TrainingJobDefinition as Rec;
    const rand = mulberry32(deps.faults.current.seed ?? parseInt(shortHash(e.name), 16));
    const maxJobs = Number(limits.MaxNumberOfTrainingJobs ?? 1000);
    const parallel = Math.max(1, Number(limits.MaxParallelTrainingJobs));
    const combos = this.combos((config.ParameterRanges ?? {}) as Ranges, config.Strategy as string, maxJobs, rand);
    const counters = e.d.TrainingJobStatusCounters as Record<string, number>;
    const objCounters = e.d.ObjectiveStatusCounters as Record<string, number>;
    const better = (a: number, b: number) => (objective?.Type === 'Minimize' ? a < b : a > b);
    let best: { value: number; job: Entry } | undefined;
    const inflight = new Set<Promise<void>>();
    let launched = 0;
    const launch = (i: number) => {
      const hps = combos[i];
      const jobName = `${e.name}-${String(i + 1).padStart(3, '0')}-${shortHash(`${e.name}-${i}-${JSON.stringify(hps)}`)}`;
      const body: JsonObject = {
        TrainingJobName: jobName,
        HyperParameters: { ...((def.StaticHyperParameters ?? {}) as Rec), ...hps, _tuning_objective_metric: objective?.MetricName ?? '' },
        AlgorithmSpecification: def.AlgorithmSpecification,
        RoleArn: def.RoleArn,
        InputDataConfig: def.InputDataConfig,
        OutputDataConfig: def.OutputDataConfig,
        ResourceConfig: def.ResourceConfig,
        StoppingCondition: def.StoppingCondition,
        VpcConfig: def.VpcConfig,
        Environment: def.Environment,
      };
      if (!objective) delete (body.HyperParameters as Rec)._tuning_objective_metric;
      this.training.create(body, { tuningJobArn: e.d.HyperParameterTuningJobArn as string });
      const t = this.state.get('training', jobName)!;
      t.meta.tuned = hps;
      counters.InProgress++;
      objCounters.Pending++;
      e.d.LastModifiedTime = Date.now();
      deps.markDirty();
      const p = this.training.whenTerminal(jobName).then((done) => {
        counters.InProgress--;
        objCounters.Pending--;
        const status = done.d.TrainingJobStatus as string;
        if (status === 'Completed') counters.Completed++;
        else if (status === 'Stopped') counters.Stopped++;
        else counters.NonRetryableError++;
        const value = this.objectiveValue(done, objective);
        if (status === 'Completed' && value !== undefined) {
          objCounters.Succeeded++;
          done.meta.objective = value;
          if (!best || better(value, best.value)) best = { value, job: done };
        } else objCounters.Failed++;
        if (best) e.d.BestTrainingJob = this.summary(best.job, e, objective);
        e.d.LastModifiedTime = Date.now();
        deps.markDirty();
      });
      inflight.add(p);
      void p.then(() => inflight.delete(p));
    };
    try {
      while (launched < combos.length && !this.stopFlags.get(key) && !this.closing) {
        while (inflight.size < parallel && launched < combos.length && !this.stopFlags.get(key)) launch(launched++);
        await Promise.race(inflight);
      }
      await Promise.all(inflight);
      if (this.closing) return;
      const end = {
        HyperParameterTuningEndTime: Date.now(),
        ConsumedResources: { RuntimeInSeconds: Math.round((Date.now() - (e.d.CreationTime as number)) / 1000) },
      };
      if (this.stopFlags.get(key)) this.setStatus(e, 'Stopped', end);
      else if (!best && objective)
        this.setStatus(e, 'Failed', {
          ...end,
          FailureReason: "All training jobs failed or did not report the objective metric. See the training jobs' FailureReason for details.",
        });
      else this.setStatus(e, 'Completed', end);
    } catch (err) {
      if (this.closing) return;
      this.setStatus(e, 'Failed', { FailureReason: `InternalServerError: ${(err as Error).message}`, HyperParameterTuningEndTime: Date.now() });
    } finally {
      this.stopFlags.delete(key);
    }
  }

  recover(): void {
    for (const e of this.state.tuning.values()) {
      const s = e.d.HyperParameterTuningJobStatus;
      if (s === 'InProgress' || s === 'Stopping')
        this.setStatus(e, 'Failed', { FailureReason: 'Local AWS restarted while the job was running', HyperParameterTuningEndTime: Date.now() });
    }
  }

  shutdown(): void {
    this.closing = true;
  }
}
