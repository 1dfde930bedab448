/**
 * Endpoints: Creating -> InService (-> Updating -> InService on UpdateEndpoint)
 * / Failed, and Deleting. Each production variant is backed by a live serving
 * container process, which is what SageMaker Runtime's InvokeEndpoint talks to.
 */
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { AwsError, validationError } from '../errors.ts';
import { extractModel } from '../jobs/workspace.ts';
import { randomHex, type JsonObject } from '../util.ts';
import { arn, listPage, tagsFrom, toApi, type Rec, type SageMakerDeps } from './common.ts';
import { resolveImage } from './images.ts';
import { instanceStream } from './jobkit.ts';
import { ModelService } from './models.ts';
import { DETAIL_TYPES, publishState } from './publish.ts';
import { ServingContainer } from './serving.ts';
import type { Entry, SageMakerState } from './state.ts';
import { Validator, validateTags } from './validation.ts';

interface LiveVariant {
  name: string;
  weight: number;
  container: ServingContainer;
  logStream: string;
}

interface LiveEndpoint {
  configName: string;
  variants: LiveVariant[];
  dir: string;
}

/** EventBridge endpoint events spell the status the way SageMaker's docs show them (IN_SERVICE, ...). */
const EVENT_STATUS: Record<string, string> = {
  OutOfService: 'OUT_OF_SERVICE',
  Creating: 'CREATING',
  Updating: 'UPDATING',
  SystemUpdating: 'SYSTEM_UPDATING',
  RollingBack: 'ROLLING_BACK',
  InService: 'IN_SERVICE',
  Deleting: 'DELETING',
  Failed: 'FAILED',
};

class DeployFailure extends Error {}

export class EndpointService {
  private live = new Map<string, LiveEndpoint>();
  private closing = false;

  constructor(
    private readonly deps: SageMakerDeps,
    private readonly state: SageMakerState,
    private readonly models: ModelService,
  ) {}

  private arnOf(name: string): string {
    return arn(this.deps, 'endpoint', name);
  }

  private get(name: unknown): Entry {
    const e = typeof name === 'string' ? this.state.get('endpoints', name) : undefined;
    if (!e) throw validationError(`Could not find endpoint "${this.arnOf(String(name))}".`);
    return e;
  }

  private setStatus(e: Entry, status: string, extra: Rec = {}): void {
    const changed = e.d.EndpointStatus !== status;
    e.d.EndpointStatus = status;
    Object.assign(e.d, extra);
    if (status !== 'Failed' && !('FailureReason' in extra)) delete e.d.FailureReason;
    e.d.LastModifiedTime = Date.now();
    this.deps.markDirty();
    if (changed) {
      publishState(this.deps, DETAIL_TYPES.endpoint, e.d.EndpointArn as string, e, (detail) => {
        detail.EndpointStatus = EVENT_STATUS[status] ?? status;
      });
    }
  }

  private variantSummaries(configName: string, deployed: boolean): Rec[] {
    const cfg = this.models.getConfig(configName);
    return (cfg.d.ProductionVariants as Rec[]).map((pv) => {
      const model = this.state.get('models', pv.ModelName as string);
      const image = model ? (ModelService.primary(model).Image as string | undefined) : undefined;
      return {
        VariantName: pv.VariantName,
        DeployedImages: deployed && image ? [{ SpecifiedImage: image, ResolvedImage: image, ResolutionTime: Date.now() }] : undefined,
        CurrentWeight: deployed ? pv.InitialVariantWeight : undefined,
        DesiredWeight: pv.InitialVariantWeight,
        CurrentInstanceCount: deployed ? pv.InitialInstanceCount : undefined,
        DesiredInstanceCount: pv.InitialInstanceCount,
      };
    });
  }

  create(body: JsonObject): JsonObject {
    const v = new Validator();
    v.name(body.EndpointName, 'endpointName');
    v.name(body.EndpointConfigName, 'endpointConfigName');
    validateTags(v, body.Tags);
    v.done();
    const name = body.EndpointName as string;
    const epArn = this.arnOf(name);
    if (this.state.get('endpoints', name)) throw validationError(`Cannot create already existing endpoint "${epArn}".`);
    const cfg = this.models.getConfig(body.EndpointConfigName);
    const now = Date.now();
    const e: Entry = {
      name,
      d: {
        EndpointName: name,
        EndpointArn: epArn,
        EndpointConfigName: cfg.name,
        ProductionVariants: this.variantSummaries(cfg.name, false),
        EndpointStatus: 'Creating',
        CreationTime: now,
        LastModifiedTime: now,
      },
      tags: tagsFrom(body.Tags),
      meta: {},
    };
    this.state.set('endpoints', name, e);
    this.deps.markDirty();
    publishState(this.deps, DETAIL_TYPES.endpoint, epArn, e, (d) => (d.EndpointStatus = 'CREATING'));
    void this.rollout(e, cfg.name, false);
    return { EndpointArn: epArn };
  }

  update(body: JsonObject): JsonObject {
    const v = new Validator();
    v.name(body.EndpointName, 'endpointName');
    v.name(body.EndpointConfigName, 'endpointConfigName');
    v.done();
    const e = this.get(body.EndpointName);
    if (e.d.EndpointStatus !== 'InService') throw validationError(`Cannot update in-progress endpoint "${e.d.EndpointArn as string}".`);
    const cfg = this.models.getConfig(body.EndpointConfigName);
    this.setStatus(e, 'Updating');
    void this.rollout(e, cfg.name, true);
    return { EndpointArn: e.d.EndpointArn };
  }

  /** Starts serving containers for a config, then swaps them in (old ones stop only after the new ones are ready). */
  private async rollout(e: Entry, configName: string, isUpdate: boolean): Promise<void> {
    const { deps } = this;
    const started: LiveVariant[] = [];
    const dir = join(deps.dataDir, 'endpoints', e.name, randomHex(4));
    try {
      await deps.scheduler.sleep(deps.faults.stageMs(2));
      const cfg = this.models.getConfig(configName);
      for (const pv of cfg.d.ProductionVariants as Rec[]) {
        const variant = pv.VariantName as string;
        const model = this.state.get('models', pv.ModelName as string);
        if (!model) throw new DeployFailure(`Could not find model "${this.models.modelArn(String(pv.ModelName))}".`);
        const pc = ModelService.primary(model);
        const image = resolveImage(pc.Image as string | undefined, deps.scriptImages);
        const group = `/aws/sagemaker/Endpoints/${e.name}`;
        const logStream = instanceStream(variant);
        const log = (l: string) => deps.logs.append(group, logStream, [{ timestamp: Date.now(), message: l }]);
        const healthFail = `The primary container for production variant ${variant} did not pass the ping health check. Please check CloudWatch logs for this endpoint.`;
        if (image.kind !== 'knn') {
          log(`Local AWS can only host built-in KNN models; image ${String(pc.Image)} cannot be served.`);
          throw new DeployFailure(healthFail);
        }
        if (typeof pc.ModelDataUrl !== 'string') throw new DeployFailure(`Model data URL is required for production variant ${variant}.`);
        const vdir = join(dir, variant);
        try {
          await extractModel(deps.s3, pc.ModelDataUrl, join(vdir, 'model'));
        } catch (err) {
          throw new DeployFailure(`Failed to download model data for production variant ${variant} from ${pc.ModelDataUrl}: ${(err as Error).message}`);
        }
        const container = new ServingContainer(deps.runner, { jobDir: vdir, modelDir: join(vdir, 'model'), onLine: log });
        started.push({ name: variant, weight: Number(pv.InitialVariantWeight ?? 1), container, logStream });
        try {
          await container.ready;
        } catch {
          throw new DeployFailure(healthFail);
        }
      }
      if (this.closing || !this.state.get('endpoints', e.name)) {
        await Promise.all(started.map((s) => s.container.stop()));
        return;
      }
      const old = this.live.get(e.name.toLowerCase());
      this.live.set(e.name.toLowerCase(), { configName, variants: started, dir });
      if (old) {
        await Promise.all(old.variants.map((s) => s.container.stop()));
        await rm(old.dir, { recursive: true, force: true });
      }
      this.setStatus(e, 'InService', { EndpointConfigName: configName, ProductionVariants: this.variantSummaries(configName, true) });
    } catch (err) {
      await Promise.all(started.map((s) => s.container.stop()));
      if (this.closing || !this.state.get('endpoints', e.name)) return;
      const reason = err instanceof DeployFailure ? err.message : `Local AWS failed to deploy the endpoint: ${(err as Error).message}`;
      if (isUpdate && this.live.has(e.name.toLowerCase())) {
        // A failed update rolls back: the endpoint keeps serving the previous configuration.
        this.setStatus(e, 'InService', { FailureReason: reason });
      } else this.setStatus(e, 'Failed', { FailureReason: reason });
    }
  }

  describe(body: JsonObject): JsonObject {
    return toApi(this.get(body.EndpointName).d) as JsonObject;
  }

  list(body: JsonObject): JsonObject {
    const v = new Validator();
    v.enumOf(body.StatusEquals, 'statusEquals', Object.keys(EVENT_STATUS));
    v.done();
    const page = listPage<Entry>({
      items: this.state.endpoints.values(),
      body,
      name: (e) => e.name,
      creationTime: (e) => e.d.CreationTime as number,
      lastModifiedTime: (e) => e.d.LastModifiedTime as number,
      status: (e) => e.d.EndpointStatus as string,
      sortKeys: { Name: (e) => e.name, CreationTime: (e) => e.d.CreationTime as number, Status: (e) => e.d.EndpointStatus as string },
      defaultSortBy: 'CreationTime',
      defaultSortOrder: 'Descending',
    });
    return {
      Endpoints: page.items.map((e) =>
        toApi({
          EndpointName: e.name,
          EndpointArn: e.d.EndpointArn,
          CreationTime: e.d.CreationTime,
          LastModifiedTime: e.d.LastModifiedTime,
          EndpointStatus: e.d.EndpointStatus,
        }),
      ),
      NextToken: page.NextToken,
    };
  }

  delete(body: JsonObject): JsonObject {
    const e = this.get(body.EndpointName);
    if (e.d.EndpointStatus === 'Deleting') return {};
    this.setStatus(e, 'Deleting');
    void (async () => {
      await this.deps.scheduler.sleep(this.deps.faults.stageMs(1));
      const live = this.live.get(e.name.toLowerCase());
      this.live.delete(e.name.toLowerCase());
      if (live) {
        await Promise.all(live.variants.map((s) => s.container.stop()));
        await rm(live.dir, { recursive: true, force: true });
      }
      this.state.delete('endpoints', e.name);
      this.deps.markDirty();
    })();
    return {};
  }

  /** SageMaker Runtime InvokeEndpoint (REST JSON: POST /endpoints/{name}/invocations). */
  async invoke(
    name: string,
    body: Buffer,
    headers: { contentType?: string; accept?: string; targetVariant?: string },
  ): Promise<{ body: Buffer; contentType: string; variant: string }> {
    const { deps } = this;
    const e = this.state.get('endpoints', name);
    const live = this.live.get(name.toLowerCase());
    if (!e || !live || !['InService', 'Updating'].includes(e.d.EndpointStatus as string)) {
      throw new AwsError('ValidationError', `Endpoint ${name} of account ${deps.accountId} not found.`);
    }
    if (body.length > 6 * 1024 * 1024) throw new AwsError('ValidationError', 'Request payload size exceeds the maximum of 6 MB.', { status: 413 });
    let variant: LiveVariant | undefined;
    if (headers.targetVariant) {
      variant = live.variants.find((x) => x.name === headers.targetVariant);
      if (!variant) throw new AwsError('ValidationError', `Target variant ${headers.targetVariant} is not a production variant of endpoint ${name}.`);
    } else {
      const total = live.variants.reduce((s, x) => s + x.weight, 0);
      let r = deps.faults.random() * (total || 1);
      variant = live.variants.find((x) => (r -= x.weight) < 0) ?? live.variants[0];
    }
    const logArn = `arn:aws:logs:${deps.region}:${deps.accountId}:log-group:/aws/sagemaker/Endpoints/${name}`;
    let res;
    try {
      res = await variant.container.invoke(body, headers.contentType, headers.accept);
    } catch (err) {
      throw new AwsError(
        'ModelError',
        `Received server error (0) from primary with message "${(err as Error).message}". See ${logArn} in account ${deps.accountId} for more information.`,
        {
          status: 424,
          fields: { OriginalStatusCode: 500, OriginalMessage: (err as Error).message, LogStreamArn: logArn },
        },
      );
    }
    if (res.status !== 200) {
      const msg = res.body.toString('utf8');
      const kind = res.status < 500 ? 'client' : 'server';
      throw new AwsError(
        'ModelError',
        `Received ${kind} error (${res.status}) from primary with message "${msg}". See ${logArn} in account ${deps.accountId} for more information.`,
        {
          status: 424,
          fields: { OriginalStatusCode: res.status, OriginalMessage: msg, LogStreamArn: logArn },
        },
      );
    }
    return { body: res.body, contentType: res.contentType, variant: variant.name };
  }

  /** After a restart: InService endpoints are brought back up; half-done ones fail. */
  recover(): void {
    for (const e of [...this.state.endpoints.values()]) {
      const s = e.d.EndpointStatus;
      if (s === 'InService') void this.rollout(e, e.d.EndpointConfigName as string, false);
      else if (s === 'Creating' || s === 'Updating')
        this.setStatus(e, 'Failed', { FailureReason: 'Local AWS restarted while the endpoint was being deployed' });
      else if (s === 'Deleting') {
        this.state.delete('endpoints', e.name);
        this.deps.markDirty();
      }
    }
  }

  async shutdown(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.live.values()].flatMap((l) => l.variants.map((v) => v.container.stop())));
    this.live.clear();
  }
}
