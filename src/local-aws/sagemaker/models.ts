/** Models and endpoint configurations: plain resources with SageMaker's validation and error wording. */
import { validationError } from '../errors.ts';
import type { JsonObject } from '../util.ts';
import { arn, listPage, tagsFrom, toApi, type Rec, type SageMakerDeps } from './common.ts';
import type { Entry, SageMakerState } from './state.ts';
import { ROLE_ARN_RE, S3_URI_RE, Validator, validateTags } from './validation.ts';

export class ModelService {
  constructor(
    private readonly deps: SageMakerDeps,
    private readonly state: SageMakerState,
  ) {}

  modelArn(name: string): string {
    return arn(this.deps, 'model', name);
  }

  configArn(name: string): string {
    return arn(this.deps, 'endpoint-config', name);
  }

  getModel(name: unknown): Entry {
    const e = typeof name === 'string' ? this.state.get('models', name) : undefined;
    if (!e) throw validationError(`Could not find model "${this.modelArn(String(name))}".`);
    return e;
  }

  getConfig(name: unknown): Entry {
    const e = typeof name === 'string' ? this.state.get('endpointConfigs', name) : undefined;
    if (!e) throw validationError(`Could not find endpoint configuration "${this.configArn(String(name))}".`);
    return e;
  }

  /** The container that serves a model: PrimaryContainer, or the first of Containers. */
  static primary(model: Entry): Rec {
    const pc = model.d.PrimaryContainer as Rec | undefined;
    if (pc) return pc;
    const cs = model.d.Containers as Rec[] | undefined;
    return cs?.[0] ?? {};
  }

  createModel(body: JsonObject): JsonObject {
    const v = new Validator();
    v.name(body.ModelName, 'modelName');
    v.string(body.ExecutionRoleArn, 'executionRoleArn', { min: 20, max: 2048, re: ROLE_ARN_RE });
    const containers: Array<[unknown, string]> = [];
    if (body.PrimaryContainer !== undefined) containers.push([body.PrimaryContainer, 'primaryContainer']);
    if (v.array(body.Containers, 'containers', { max: 15 }))
      body.Containers.forEach((c, i) => {
        containers.push([c, `containers.${i + 1}.member`]);
      });
    if (containers.length === 0)
      v.errors.push("Value null at 'primaryContainer' failed to satisfy constraint: Either PrimaryContainer or Containers must be specified");
    for (const [c, p] of containers) {
      if (!v.object(c, p, true)) continue;
      v.string(c.Image, `${p}.image`, { max: 255 });
      v.string(c.ModelDataUrl, `${p}.modelDataUrl`, { max: 1024, re: S3_URI_RE, pattern: '^(https|s3)://([^/]+)/?(.*)$' });
      v.stringMap(c.Environment, `${p}.environment`, { maxEntries: 100, maxKey: 1024, maxValue: 1024 });
    }
    validateTags(v, body.Tags);
    v.done();
    const name = body.ModelName as string;
    const modelArn = this.modelArn(name);
    if (this.state.get('models', name)) throw validationError(`Cannot create already existing model "${modelArn}".`);
    const d: Rec = {
      ModelName: name,
      PrimaryContainer: body.PrimaryContainer,
      Containers: body.Containers,
      InferenceExecutionConfig: body.InferenceExecutionConfig,
      ExecutionRoleArn: body.ExecutionRoleArn,
      VpcConfig: body.VpcConfig,
      CreationTime: Date.now(),
      ModelArn: modelArn,
      EnableNetworkIsolation: body.EnableNetworkIsolation ?? false,
    };
    this.state.set('models', name, { name, d, tags: tagsFrom(body.Tags), meta: {} });
    this.deps.markDirty();
    return { ModelArn: modelArn };
  }

  describeModel(body: JsonObject): JsonObject {
    return toApi(this.getModel(body.ModelName).d) as JsonObject;
  }

  deleteModel(body: JsonObject): JsonObject {
    const e = this.getModel(body.ModelName);
    this.state.delete('models', e.name);
    this.deps.markDirty();
    return {};
  }

  listModels(body: JsonObject): JsonObject {
    const page = listPage<Entry>({
      items: this.state.models.values(),
      body,
      name: (e) => e.name,
      creationTime: (e) => e.d.CreationTime as number,
      sortKeys: { Name: (e) => e.name, CreationTime: (e) => e.d.CreationTime as number },
      defaultSortBy: 'CreationTime',
      defaultSortOrder: 'Descending',
    });
    return { Models: page.items.map((e) => toApi({ ModelName: e.name, ModelArn: e.d.ModelArn, CreationTime: e.d.CreationTime })), NextToken: page.NextToken };
  }

  createEndpointConfig(body: JsonObject): JsonObject {
    const v = new Validator();
    v.name(body.EndpointConfigName, 'endpointConfigName');
    if (v.array(body.ProductionVariants, 'productionVariants', { required: true, min: 1, max: 10 })) {
      const seen = new Set<string>();
      body.ProductionVariants.forEach((pv, i) => {
        const p = `productionVariants.${i + 1}.member`;
        if (!v.object(pv, p, true)) return;
        if (v.string(pv.VariantName, `${p}.variantName`, { required: true, max: 63, re: /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/ })) {
          if (seen.has(pv.VariantName))
            v.errors.push(`Value '${pv.VariantName}' at '${p}.variantName' failed to satisfy constraint: Variant names must be unique`);
          seen.add(pv.VariantName);
        }
        v.name(pv.ModelName, `${p}.modelName`);
        if (pv.ServerlessConfig === undefined) {
          v.number(pv.InitialInstanceCount, `${p}.initialInstanceCount`, { min: 1, int: true });
          v.string(pv.InstanceType, `${p}.instanceType`, { re: /^ml\.[a-z0-9]+\.[a-z0-9]+$/ });
        }
        v.number(pv.InitialVariantWeight, `${p}.initialVariantWeight`, { min: 0 });
      });
    }
    validateTags(v, body.Tags);
    v.done();
    const name = body.EndpointConfigName as string;
    const cfgArn = this.configArn(name);
    if (this.state.get('endpointConfigs', name)) throw validationError(`Cannot create already existing endpoint configuration "${cfgArn}".`);
    for (const pv of body.ProductionVariants as Rec[]) this.getModel(pv.ModelName);
    const d: Rec = {
      EndpointConfigName: name,
      EndpointConfigArn: cfgArn,
      ProductionVariants: (body.ProductionVariants as Rec[]).map((pv) => ({ ...pv, InitialVariantWeight: pv.InitialVariantWeight ?? 1 })),
      DataCaptureConfig: body.DataCaptureConfig,
      KmsKeyId: body.KmsKeyId,
      CreationTime: Date.now(),
      AsyncInferenceConfig: body.AsyncInferenceConfig,
    };
    this.state.set('endpointConfigs', name, { name, d, tags: tagsFrom(body.Tags), meta: {} });
    this.deps.markDirty();
    return { EndpointConfigArn: cfgArn };
  }

  describeEndpointConfig(body: JsonObject): JsonObject {
    return toApi(this.getConfig(body.EndpointConfigName).d) as JsonObject;
  }

  deleteEndpointConfig(body: JsonObject): JsonObject {
    const e = this.getConfig(body.EndpointConfigName);
    this.state.delete('endpointConfigs', e.name);
    this.deps.markDirty();
    return {};
  }

  listEndpointConfigs(body: JsonObject): JsonObject {
    const page = listPage<Entry>({
      items: this.state.endpointConfigs.values(),
      body,
      name: (e) => e.name,
      creationTime: (e) => e.d.CreationTime as number,
      sortKeys: { Name: (e) => e.name, CreationTime: (e) => e.d.CreationTime as number },
      defaultSortBy: 'CreationTime',
      defaultSortOrder: 'Descending',
    });
    return {
      EndpointConfigs: page.items.map((e) => toApi({ EndpointConfigName: e.name, EndpointConfigArn: e.d.EndpointConfigArn, CreationTime: e.d.CreationTime })),
      NextToken: page.NextToken,
    };
  }
}
