/**
 * The webserver: REST API (Airflow's stable-API conventions under /api/v1), live events (SSE),
 * Prometheus /metrics, the OpenAPI document and the UI. Stateless: any number can run against the
 * same MongoDB. Loopback-only by default; beyond loopback it demands a token or basic credentials.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Registry } from 'prom-client';
import { metricsRegistry as processRegistry } from '../metrics/registry.ts';
import type { Logger } from 'pino';
import type { Store } from '../store/store.ts';
import type { StateChangeBus } from '../store/state-change-bus.ts';
import { ConnectionRepository } from '../connections/connection-repository.ts';
import { ApiContext, type DagLookup } from './api-context.ts';
import { LiveChanges } from './live/live-changes.ts';
import { problemErrorHandler, problemFor, sendProblem } from './http/problem.ts';
import { zodSerializerCompiler, zodToOpenApi, zodValidatorCompiler } from './http/zod-validation.ts';
import { MAX_BODY_BYTES, registerJsonBodyParser } from './http/json-body.ts';
import { componentSchemas } from './schemas/registry.ts';
import { assertBindable, authHook, hasAuth, type AuthOptions } from './http/auth.ts';
import { dagRoutes } from './routes/dags.ts';
import { dagRunRoutes } from './routes/dag-runs.ts';
import { taskInstanceRoutes } from './routes/task-instances.ts';
import { taskInstanceBulkRoutes } from './routes/task-instance-bulk.ts';
import { taskLogRoutes } from './routes/task-logs.ts';
import { xcomRoutes } from './routes/xcom.ts';
import { variableRoutes } from './routes/variables.ts';
import { connectionRoutes } from './routes/connections.ts';
import { importErrorRoutes } from './routes/import-errors.ts';
import { healthRoutes } from './routes/health.ts';
import { triggerRoutes } from './routes/triggers.ts';
import { deferralRoutes } from './routes/deferrals.ts';
import { eventRoutes } from './routes/events.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { eventLogRoutes } from './routes/event-logs.ts';
import { dagSourceRoutes } from './routes/dag-sources.ts';
import { versionRoutes } from './routes/version.ts';
import { taskInstanceTryRoutes } from './routes/task-instance-tries.ts';
import { uiRoutes } from '../ui/ui-routes.ts';
import { DEFAULTS } from '../config/defaults.ts';

export const API_TOKEN_ENV = 'DEFERFLOW_API_TOKEN';

export interface BuildServerOptions {
  store: Store;
  bus?: StateChangeBus;
  dagBag?: DagLookup;
  auth?: AuthOptions;
  /** Where it will listen; with auth absent, anything but loopback is refused. */
  host?: string;
  logger?: Logger;
  /** Registry whose metrics /metrics exposes first (default: the process registry of src/metrics). */
  metricsRegistry?: Registry;
  /** Connection storage (default: a ConnectionRepository on `store`, created on first use). */
  connections?: ConnectionRepository;
  /** How often the live feed polls MongoDB for other processes' changes (ms, default 1000). */
  livePollMs?: number;
  /** Serve the Swagger UI at /api/v1/ui (default true). */
  swaggerUi?: boolean;
  /** Check every response against its documented schema before sending it (tests; default off). */
  validateResponses?: boolean;
}

export async function buildServer(opts: BuildServerOptions): Promise<FastifyInstance> {
  const host = opts.host ?? DEFAULTS.webserverHost;
  assertBindable(host, opts.auth);
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger as FastifyBaseLogger } : { logger: false }),
    // The default would log every request at info; an API polled by a live UI would drown the log.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: MAX_BODY_BYTES,
  });
  const live = new LiveChanges(opts.store, opts.bus, { pollMs: opts.livePollMs, logger: opts.logger });
  app.addHook('onClose', async () => live.close());
  const ctx = new ApiContext(opts.store, opts.bus, live, opts.metricsRegistry ?? processRegistry, opts.dagBag, undefined, opts.auth);
  let repo: ConnectionRepository | undefined = opts.connections;
  const connections = () => (repo ??= new ConnectionRepository(opts.store));

  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(zodSerializerCompiler(opts.validateResponses ?? process.env.DEFERFLOW_API_VALIDATE_RESPONSES === '1'));
  registerJsonBodyParser(app);
  app.setErrorHandler(problemErrorHandler);
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, problemFor('NOT_FOUND', `No route for ${req.method} ${req.url.split('?')[0]}`, { instance: req.url })),
  );
  if (hasAuth(opts.auth)) app.addHook('onRequest', authHook(opts.auth!));

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'deferflow API', version: '1', description: 'Airflow-style stable REST API of deferflow, plus /triggers, /deferrals and /events.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, basic: { type: 'http', scheme: 'basic' } } },
      security: [{ bearer: [] }, { basic: [] }],
    },
    transform: zodToOpenApi as never,
    // The component schemas every route refers to, from the same zod schemas that validate.
    transformObject: (documentObject) => {
      if (!('openapiObject' in documentObject)) return documentObject.swaggerObject;
      const doc = documentObject.openapiObject;
      const components = (doc.components ?? {}) as { schemas?: Record<string, unknown> };
      doc.components = { ...components, schemas: { ...(components.schemas ?? {}), ...componentSchemas() } } as typeof doc.components;
      return doc;
    },
  });
  if (opts.swaggerUi !== false) await app.register(swaggerUi, { routePrefix: '/api/v1/ui' });
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/api/v1/openapi.yaml', { schema: { hide: true } }, async (_req, reply) =>
    reply.type('application/yaml; charset=utf-8').send(app.swagger({ yaml: true })),
  );

  dagRoutes(app, ctx);
  dagRunRoutes(app, ctx);
  taskInstanceRoutes(app, ctx);
  taskInstanceBulkRoutes(app, ctx);
  taskLogRoutes(app, ctx);
  xcomRoutes(app, ctx);
  variableRoutes(app, ctx);
  connectionRoutes(app, ctx, connections);
  importErrorRoutes(app, ctx);
  healthRoutes(app, ctx);
  triggerRoutes(app, ctx);
  deferralRoutes(app, ctx);
  eventRoutes(app, ctx);
  metricsRoutes(app, ctx);
  eventLogRoutes(app, ctx);
  dagSourceRoutes(app, ctx);
  versionRoutes(app);
  taskInstanceTryRoutes(app, ctx);
  await uiRoutes(app);
  return app;
}

export interface StartWebserverOptions extends BuildServerOptions {
  port?: number;
}

export interface RunningWebserver {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/** Build and listen. Auth defaults to DEFERFLOW_API_TOKEN when set. */
export async function startWebserver(opts: StartWebserverOptions): Promise<RunningWebserver> {
  const host = opts.host ?? DEFAULTS.webserverHost;
  const envToken = process.env[API_TOKEN_ENV];
  const auth = opts.auth ?? (envToken ? { token: envToken } : undefined);
  const app = await buildServer({ ...opts, host, auth });
  const address = await app.listen({ host, port: opts.port ?? DEFAULTS.webserverPort });
  return { app, url: address, close: () => app.close() };
}
