/**
 * The SageMaker API surface (AWS JSON 1.1, `SageMaker.<Action>`): one
 * dispatch table over the resource modules, plus the throttling fault knob
 * and tags. Unknown actions get AWS's UnknownOperationException.
 */
import { AwsError, throttlingError, validationError } from '../errors.ts';
import { isObject, type JsonObject } from '../util.ts';
import { tagsFrom, type SageMakerDeps } from './common.ts';
import { EndpointService } from './endpoints.ts';
import { ModelService } from './models.ts';
import { ProcessingService } from './processing.ts';
import { SageMakerState } from './state.ts';
import { TrainingService } from './training.ts';
import { TransformService } from './transform.ts';
import { TuningService } from './tuning.ts';

type Handler = (body: JsonObject) => JsonObject;

export class SageMakerService {
  readonly state = new SageMakerState();
  readonly training: TrainingService;
  readonly transform: TransformService;
  readonly processing: ProcessingService;
  readonly tuning: TuningService;
  readonly models: ModelService;
  readonly endpoints: EndpointService;
  private readonly actions: Record<string, Handler>;

  constructor(private readonly deps: SageMakerDeps) {
    this.training = new TrainingService(deps, this.state);
    this.models = new ModelService(deps, this.state);
    this.transform = new TransformService(deps, this.state, this.models);
    this.processing = new ProcessingService(deps, this.state);
    this.tuning = new TuningService(deps, this.state, this.training);
    this.endpoints = new EndpointService(deps, this.state, this.models);
    this.actions = {
      CreateTrainingJob: (b) => this.training.create(b),
      DescribeTrainingJob: (b) => this.training.describe(b),
      ListTrainingJobs: (b) => this.training.list(b),
      StopTrainingJob: (b) => this.training.stop(b),
      CreateTransformJob: (b) => this.transform.create(b),
      DescribeTransformJob: (b) => this.transform.describe(b),
      ListTransformJobs: (b) => this.transform.list(b),
      StopTransformJob: (b) => this.transform.stop(b),
      CreateProcessingJob: (b) => this.processing.create(b),
      DescribeProcessingJob: (b) => this.processing.describe(b),
      ListProcessingJobs: (b) => this.processing.list(b),
      StopProcessingJob: (b) => this.processing.stop(b),
      CreateHyperParameterTuningJob: (b) => this.tuning.create(b),
      DescribeHyperParameterTuningJob: (b) => this.tuning.describe(b),
      ListHyperParameterTuningJobs: (b) => this.tuning.list(b),
      StopHyperParameterTuningJob: (b) => this.tuning.stop(b),
      ListTrainingJobsForHyperParameterTuningJob: (b) => this.tuning.listTrainingJobs(b),
      CreateModel: (b) => this.models.createModel(b),
      DescribeModel: (b) => this.models.describeModel(b),
      DeleteModel: (b) => this.models.deleteModel(b),
      ListModels: (b) => this.models.listModels(b),
      CreateEndpointConfig: (b) => this.models.createEndpointConfig(b),
      DescribeEndpointConfig: (b) => this.models.describeEndpointConfig(b),
      DeleteEndpointConfig: (b) => this.models.deleteEndpointConfig(b),
      ListEndpointConfigs: (b) => this.models.listEndpointConfigs(b),
      CreateEndpoint: (b) => this.endpoints.create(b),
      DescribeEndpoint: (b) => this.endpoints.describe(b),
      UpdateEndpoint: (b) => this.endpoints.update(b),
      DeleteEndpoint: (b) => this.endpoints.delete(b),
      ListEndpoints: (b) => this.endpoints.list(b),
      AddTags: (b) => this.addTags(b),
      ListTags: (b) => this.listTags(b),
      DeleteTags: (b) => this.deleteTags(b),
    };
  }

  handle(action: string, body: JsonObject): JsonObject {
    const h = this.actions[action];
    if (!h) throw new AwsError('UnknownOperationException', `Operation ${action} is not supported by local AWS SageMaker.`);
    if (this.deps.faults.chance(this.deps.faults.current.throttleRate)) throw throttlingError();
    return h(body);
  }

  private resource(arnValue: unknown) {
    const e = typeof arnValue === 'string' ? this.state.byArn(arnValue) : undefined;
    if (!e) throw validationError(`Resource ${String(arnValue)} not found.`);
    return e;
  }

  private addTags(b: JsonObject): JsonObject {
    const e = this.resource(b.ResourceArn);
    for (const t of tagsFrom(b.Tags)) {
      const i = e.tags.findIndex((x) => x.Key === t.Key);
      if (i >= 0) e.tags[i] = t;
      else e.tags.push(t);
    }
    this.deps.markDirty();
    return { Tags: e.tags };
  }

  private listTags(b: JsonObject): JsonObject {
    return { Tags: this.resource(b.ResourceArn).tags };
  }

  private deleteTags(b: JsonObject): JsonObject {
    const e = this.resource(b.ResourceArn);
    const keys = Array.isArray(b.TagKeys) ? b.TagKeys : [];
    e.tags = e.tags.filter((t) => !keys.includes(t.Key));
    this.deps.markDirty();
    return {};
  }

  snapshot(): unknown {
    return this.state.snapshot();
  }

  snapshotChunks(): Iterable<string> {
    return this.state.snapshotChunks();
  }

  restore(data: unknown): void {
    if (isObject(data)) this.state.restore(data);
  }

  /** Runs after restore, once the bus and queues are up: interrupted work fails (and says so on the bus). */
  recover(): void {
    this.training.recover();
    this.transform.recover();
    this.processing.recover();
    this.tuning.recover();
    this.endpoints.recover();
  }

  async shutdown(): Promise<void> {
    this.tuning.shutdown();
    await Promise.all([this.training.shutdown(), this.transform.shutdown(), this.processing.shutdown(), this.endpoints.shutdown()]);
  }
}
