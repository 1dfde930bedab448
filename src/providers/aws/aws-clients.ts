/**
 * AwsClientFactory: every AWS SDK client deferflow uses, configured from an Airflow-style `aws`
 * connection (see aws-connection.ts) or the SDK's default chain, created once per
 * (service, connection, region) and reused — a triggerer holding 100k triggers must not build
 * 100k clients.
 *
 * The one way deferflow builds AWS clients and resolves connections: each composition root
 * (Runtime, `deferflow worker` / `triggerer` / `dags test` / `tasks test`, standalone) makes one with
 * `AwsClientFactory.forStore(store)` — connections stored in MongoDB, `DEFERFLOW_CONN_<ID>` first,
 * `aws_default` missing → the SDK chain, AWS_ENDPOINT_URL[_<SERVICE>] honoured as the SDK does — and
 * hands it to tasks, hooks and triggers as `services.awsClients`. There is no process-wide default.
 *
 * Accessors are synchronous (the triggerer's `awsClients.sagemaker(connId, region)` contract) while
 * connections are read asynchronously from MongoDB, so each accessor returns a real client instance
 * (instanceof holds, so SDK paginators and waiters accept it) whose `send` first resolves the
 * connection and then delegates to a client built from it. Resolution failures (a named connection
 * that does not exist) surface on the first call and are retried on the next one.
 */
import type { SageMakerClient, SageMakerClientConfig } from '@aws-sdk/client-sagemaker';
import type { SageMakerRuntimeClient, SageMakerRuntimeClientConfig } from '@aws-sdk/client-sagemaker-runtime';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type { SQSClient, SQSClientConfig } from '@aws-sdk/client-sqs';
import type { EventBridgeClient, EventBridgeClientConfig } from '@aws-sdk/client-eventbridge';
import type { CloudWatchLogsClient, CloudWatchLogsClientConfig } from '@aws-sdk/client-cloudwatch-logs';
import type { STSClient, STSClientConfig, AssumeRoleCommandInput } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { Connection } from '../../connections/connection.ts';
import { ConnectionRepository } from '../../connections/connection-repository.ts';
import { connectionFromEnv } from '../../connections/connection-env.ts';
import { registerSecret } from '../../connections/secret-masker.ts';
import { NotFoundError } from '../../errors/not-found-error.ts';
import type { Store } from '../../store/store.ts';
import { awsSettingsFromConnection, DEFAULT_AWS_CONN_ID, emptyAwsSettings, type AwsConnectionSettings } from './aws-connection.ts';
import { cloudWatchLogsSdk, eventBridgeSdk, s3Sdk, sageMakerRuntimeSdk, sageMakerSdk, sqsSdk, stsSdk } from './sdk.ts';

/** Anything that can find a connection by id: the repository, a preloaded lookup, or a function. */
export type ConnectionSource =
  | ConnectionRepository
  | { get(connId: string): Connection | undefined | null }
  | ((connId: string) => Connection | null | undefined | Promise<Connection | null | undefined>);

export interface AwsClientFactoryOptions {
  /** Where aws_conn_id is looked up; without it every client uses the SDK default chain. */
  connections?: ConnectionSource;
  /** SDK attempts per call (adaptive retry mode); throttling is retried, never a failure by itself. */
  maxAttempts?: number;
  /** Environment consulted for AWS_ENDPOINT_URL[_S3] (S3 path-style) — the SDK itself reads process.env. */
  env?: NodeJS.ProcessEnv;
}

/** The slice of the factory the triggerer's SageMaker trigger needs (service `awsClients`). */
export interface SageMakerClientProvider {
  sagemaker(connId?: string | null, region?: string | null): SageMakerClient;
}

type ServiceKey = 'sagemaker' | 'sagemaker_runtime' | 's3' | 'sqs' | 'eventbridge' | 'logs' | 'sts';

/** Keys Airflow's service_config uses for the same services (boto3 service names). */
const SERVICE_CONFIG_KEYS: Record<ServiceKey, string[]> = {
  sagemaker: ['sagemaker'],
  sagemaker_runtime: ['sagemaker-runtime', 'sagemaker_runtime'],
  s3: ['s3'],
  sqs: ['sqs'],
  eventbridge: ['events', 'eventbridge'],
  logs: ['logs'],
  sts: ['sts'],
};

interface SdkClient {
  send(command: never, options?: never): Promise<unknown>;
  destroy(): void;
}

/** What every client config shares; each service's config type accepts it. */
interface CommonConfig {
  region?: string;
  endpoint?: string;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  retryMode: string;
  maxAttempts: number;
  forcePathStyle?: boolean;
}

/** Refresh assumed-role credentials this long before they expire. */
const REFRESH_BEFORE_MS = 5 * 60_000;

export class AwsClientFactory implements SageMakerClientProvider {
  private readonly clients = new Map<string, SdkClient>();
  private readonly built: SdkClient[] = [];
  private readonly stsProviders = new Map<string, AwsCredentialIdentityProvider>();
  private readonly maxAttempts: number;
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly opts: AwsClientFactoryOptions = {}) {
    this.maxAttempts = opts.maxAttempts ?? 10;
    this.env = opts.env ?? process.env;
  }

  /** Clients over the connections stored in `store` (DEFERFLOW_CONN_<ID> overriding them). */
  static forStore(store: Pick<Store, 'connections'>, opts: Omit<AwsClientFactoryOptions, 'connections'> = {}): AwsClientFactory {
    return new AwsClientFactory({ ...opts, connections: new ConnectionRepository(store, opts.env ? { env: opts.env } : {}) });
  }

  sagemaker(connId?: string | null, region?: string | null): SageMakerClient {
    return this.client('sagemaker', connId, region, (c) => new (sageMakerSdk().SageMakerClient)(c as SageMakerClientConfig));
  }
  sagemakerRuntime(connId?: string | null, region?: string | null): SageMakerRuntimeClient {
    return this.client('sagemaker_runtime', connId, region, (c) => new (sageMakerRuntimeSdk().SageMakerRuntimeClient)(c as SageMakerRuntimeClientConfig));
  }
  s3(connId?: string | null, region?: string | null): S3Client {
    return this.client('s3', connId, region, (c) => new (s3Sdk().S3Client)(c as S3ClientConfig));
  }
  sqs(connId?: string | null, region?: string | null): SQSClient {
    return this.client('sqs', connId, region, (c) => new (sqsSdk().SQSClient)(c as SQSClientConfig));
  }
  eventBridge(connId?: string | null, region?: string | null): EventBridgeClient {
    return this.client('eventbridge', connId, region, (c) => new (eventBridgeSdk().EventBridgeClient)(c as EventBridgeClientConfig));
  }
  logs(connId?: string | null, region?: string | null): CloudWatchLogsClient {
    return this.client('logs', connId, region, (c) => new (cloudWatchLogsSdk().CloudWatchLogsClient)(c as CloudWatchLogsClientConfig));
  }
  sts(connId?: string | null, region?: string | null): STSClient {
    return this.client('sts', connId, region, (c) => new (stsSdk().STSClient)(c as STSClientConfig));
  }

  /**
   * The connection's AWS settings (Airflow semantics): `aws_default` missing → default chain;
   * any other missing id → CONNECTION_NOT_FOUND naming it; null/'' → default chain.
   */
  async settings(connId?: string | null): Promise<AwsConnectionSettings> {
    const id = connId === undefined ? DEFAULT_AWS_CONN_ID : connId;
    if (!id) return emptyAwsSettings(null);
    const conn = await this.lookup(id);
    if (!conn) {
      if (id === DEFAULT_AWS_CONN_ID) return emptyAwsSettings(id);
      throw new NotFoundError(
        'CONNECTION_NOT_FOUND',
        `The conn_id '${id}' isn't defined`,
        `Add it (deferflow connections add ${id} --conn-uri 'aws://KEY:SECRET@/?region_name=...') or set DEFERFLOW_CONN_${id.toUpperCase().replace(/-/g, '_')}`,
      );
    }
    return awsSettingsFromConnection(conn);
  }

  /** The region a client for (connId, region) uses: explicit > connection > SDK default (env/config). */
  async region(connId?: string | null, region?: string | null): Promise<string | null> {
    if (region) return region;
    const s = await this.settings(connId);
    return s.regionName ?? this.env.AWS_REGION ?? this.env.AWS_DEFAULT_REGION ?? null;
  }

  /** Forget cached clients (e.g. after a connection was edited); in-flight calls finish on the old ones. */
  invalidate(connId?: string | null): void {
    for (const key of [...this.clients.keys()]) {
      if (connId === undefined || key.split('|')[1] === (connId ?? '')) this.clients.delete(key);
    }
    this.stsProviders.clear();
  }

  /** Close every client's sockets. */
  destroy(): void {
    for (const c of this.clients.values()) c.destroy();
    for (const c of this.built) c.destroy();
    this.built.length = 0;
    this.clients.clear();
  }

  private client<C extends SdkClient>(
    service: ServiceKey,
    connId: string | null | undefined,
    region: string | null | undefined,
    make: (cfg: CommonConfig) => C,
  ): C {
    const id = connId === undefined ? DEFAULT_AWS_CONN_ID : connId || null;
    const key = `${service}|${id ?? ''}|${region ?? ''}`;
    const existing = this.clients.get(key);
    if (existing) return existing as C;
    // The facade is a genuine instance (for instanceof checks); it never sends with its own config.
    const facade = make({
      region: region || 'us-east-1',
      credentials: { accessKeyId: 'unresolved', secretAccessKey: 'unresolved' },
      retryMode: 'standard',
      maxAttempts: 1,
    });
    let real: Promise<C> | null = null;
    const resolveReal = (): Promise<C> => {
      real ??= this.buildConfig(service, id, region ?? null).then(
        (cfg) => {
          const c = make(cfg);
          this.built.push(c);
          return c;
        },
        (e: unknown) => {
          real = null; // let a later call retry (the connection may have been added since)
          throw e;
        },
      );
      return real;
    };
    const baseDestroy = facade.destroy.bind(facade);
    Object.defineProperty(facade, 'send', {
      value: async (command: never, options?: never) => (await resolveReal()).send(command, options),
    });
    Object.defineProperty(facade, 'destroy', {
      value: () => {
        baseDestroy();
        void real?.then(
          (c) => c.destroy(),
          () => undefined,
        );
      },
    });
    this.clients.set(key, facade);
    return facade;
  }

  private async buildConfig(service: ServiceKey, connId: string | null, region: string | null): Promise<CommonConfig> {
    const s = await this.settings(connId);
    const cfg: CommonConfig = { retryMode: 'adaptive', maxAttempts: this.maxAttempts };
    const effectiveRegion = region || s.regionName;
    if (effectiveRegion) cfg.region = effectiveRegion;
    const endpoint = this.connectionEndpoint(s, service);
    if (endpoint) cfg.endpoint = endpoint;
    const credentials = this.credentials(s, effectiveRegion ?? null);
    if (credentials) cfg.credentials = credentials;
    // Local S3-compatible endpoints (local AWS, MinIO, LocalStack) do not do virtual-hosted buckets.
    if (service === 's3' && (endpoint || this.env.AWS_ENDPOINT_URL_S3 || this.env.AWS_ENDPOINT_URL)) cfg.forcePathStyle = true;
    return cfg;
  }

  /** Endpoint from the connection; env AWS_ENDPOINT_URL[_SVC] is left to the SDK, which reads it itself. */
  private connectionEndpoint(s: AwsConnectionSettings, service: ServiceKey): string | null {
    for (const k of SERVICE_CONFIG_KEYS[service]) if (s.serviceEndpoints[k]) return s.serviceEndpoints[k];
    return s.endpointUrl;
  }

  private credentials(s: AwsConnectionSettings, region: string | null): AwsCredentialIdentity | AwsCredentialIdentityProvider | undefined {
    const base: AwsCredentialIdentity | undefined =
      s.accessKeyId && s.secretAccessKey
        ? { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey, ...(s.sessionToken ? { sessionToken: s.sessionToken } : {}) }
        : undefined;
    if (base) {
      registerSecret(base.secretAccessKey);
      if (base.sessionToken) registerSecret(base.sessionToken);
    }
    if (!s.roleArn) return base;
    const key = `${s.connId ?? ''}|${region ?? ''}`;
    let provider = this.stsProviders.get(key);
    if (!provider) {
      provider = this.assumeRoleProvider(s, base, region);
      this.stsProviders.set(key, provider);
    }
    return provider;
  }

  /** STS AssumeRole, cached until shortly before expiry, one call in flight at a time. */
  private assumeRoleProvider(s: AwsConnectionSettings, base: AwsCredentialIdentity | undefined, region: string | null): AwsCredentialIdentityProvider {
    const stsEndpoint = this.connectionEndpoint(s, 'sts');
    const sts = new (stsSdk().STSClient)({
      retryMode: 'adaptive',
      maxAttempts: this.maxAttempts,
      ...(region ? { region } : {}),
      ...(stsEndpoint ? { endpoint: stsEndpoint } : {}),
      ...(base ? { credentials: base } : {}),
    });
    this.built.push(sts);
    let cached: AwsCredentialIdentity | null = null;
    let inflight: Promise<AwsCredentialIdentity> | null = null;
    const input: AssumeRoleCommandInput = {
      ...(s.assumeRoleKwargs as Partial<AssumeRoleCommandInput>),
      RoleArn: s.roleArn!,
      RoleSessionName: s.roleSessionName ?? `deferflow_${s.connId ?? 'default'}`.slice(0, 64),
    };
    return async () => {
      if (cached && (!cached.expiration || cached.expiration.getTime() - Date.now() > REFRESH_BEFORE_MS)) return cached;
      inflight ??= sts
        .send(new (stsSdk().AssumeRoleCommand)(input))
        .then((out) => {
          const c = out.Credentials;
          if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole ${input.RoleArn} returned no credentials`);
          registerSecret(c.SecretAccessKey);
          if (c.SessionToken) registerSecret(c.SessionToken);
          cached = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
          return cached;
        })
        .finally(() => {
          inflight = null;
        });
      return inflight;
    };
  }

  private async lookup(connId: string): Promise<Connection | null> {
    const src = this.opts.connections;
    if (!src) return connectionFromEnv(connId, this.env);
    if (src instanceof ConnectionRepository) return src.find(connId);
    if (typeof src === 'function') return (await src(connId)) ?? null;
    return src.get(connId) ?? null;
  }
}
