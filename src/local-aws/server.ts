/**
 * The single HTTP listener. It routes each request to a service (see
 * router.ts), runs it, and writes the result or the error in that
 * protocol's own shape. Also serves the admin API under /_localaws/.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Faults } from './config.ts';
import { AwsError, internalError, jsonErrorBody, queryErrorXml } from './errors.ts';
import { handleEvents } from './eventbridge/handler.ts';
import type { EventBusService } from './eventbridge/bus.ts';
import { header, readBody, send } from './http.ts';
import { handleLogs } from './logs/handler.ts';
import type { LogsStore } from './logs/store.ts';
import { parseAuth, route, type Route } from './router.ts';
import { handleS3, sendS3Error } from './s3/handler.ts';
import type { S3Store } from './s3/store.ts';
import type { SageMakerService } from './sagemaker/service.ts';
import { handleSqs, jsonToQueryXml, queryToJson } from './sqs/handler.ts';
import type { SqsQueues } from './sqs/queues.ts';
import { STS_XMLNS, type StsService } from './sts/handler.ts';
import { isObject, requestId, type JsonObject } from './util.ts';

export interface ServerDeps {
  region: string;
  accountId: string;
  s3: S3Store;
  sqs: SqsQueues;
  logs: LogsStore;
  bus: EventBusService;
  sts: StsService;
  sagemaker: SageMakerService;
  faults: Faults;
  logger: Logger;
  baseUrl: () => string;
  health: () => JsonObject;
}

const JSON_VERSION: Record<string, string> = { sagemaker: '1.1', sqs: '1.0', events: '1.1', logs: '1.1' };

function sendJson(res: ServerResponse, rid: string, status: number, body: unknown, version = '1.1', extra: Record<string, string> = {}): void {
  send(res, status, { 'Content-Type': `application/x-amz-json-${version}`, 'x-amzn-RequestId': rid, ...extra }, JSON.stringify(body));
}

function sendJsonError(res: ServerResponse, rid: string, err: AwsError, service: string): void {
  const headers: Record<string, string> = { ...err.headers };
  if (service === 'sqs' && err.queryError) headers['x-amzn-query-error'] = err.queryError;
  send(
    res,
    err.status,
    { 'Content-Type': `application/x-amz-json-${JSON_VERSION[service] ?? '1.1'}`, 'x-amzn-RequestId': rid, ...headers },
    jsonErrorBody(err, service === 'sqs' ? 'com.amazonaws.sqs' : undefined),
  );
}

async function admin(req: IncomingMessage, res: ServerResponse, path: string, deps: ServerDeps): Promise<void> {
  const json = (status: number, v: unknown) => send(res, status, { 'Content-Type': 'application/json' }, JSON.stringify(v, null, 2));
  if (path === '/_localaws/health') return json(200, deps.health());
  if (path === '/_localaws/faults') {
    if (req.method === 'GET') return json(200, deps.faults.current);
    if (req.method === 'POST' || req.method === 'PUT') {
      let body: unknown;
      try {
        body = JSON.parse((await readBody(req)).toString('utf8') || '{}');
        deps.faults.set(body as Record<string, never>);
      } catch (e) {
        return json(400, { error: (e as Error).message });
      }
      return json(200, deps.faults.current);
    }
    return json(405, { error: 'Use GET or POST' });
  }
  return json(404, { error: `Unknown admin path ${path}` });
}

export function createLocalAwsServer(deps: ServerDeps): Server {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const rid = requestId();
    const rawUrl = req.url ?? '/';
    const rawPath = rawUrl.split('?')[0] || '/';
    const url = new URL(rawUrl, 'http://localhost');
    if (rawPath.startsWith('/_localaws/')) return admin(req, res, rawPath, deps);

    const sig = parseAuth(req, url);
    if ('malformed' in sig) {
      const err = new AwsError('IncompleteSignatureException', sig.malformed, { status: 400 });
      if (header(req, 'x-amz-target')) return sendJsonError(res, rid, err, 'sagemaker');
      return sendS3Error(req, res, rid, new AwsError('AuthorizationHeaderMalformed', sig.malformed, { status: 400 }));
    }

    // Query-protocol requests carry their Action in a form body (or the query string).
    let formParams: URLSearchParams | undefined;
    const ct = header(req, 'content-type') ?? '';
    if (req.method === 'POST' && ct.startsWith('application/x-www-form-urlencoded') && !header(req, 'x-amz-target')) {
      formParams = new URLSearchParams((await readBody(req)).toString('utf8'));
    } else if (url.searchParams.has('Action') && (sig.service === 'sts' || sig.service === 'sqs')) {
      formParams = url.searchParams;
    }
    const r: Route = route(req, rawPath, sig, formParams?.get('Action') ?? undefined);

    switch (r.protocol) {
      case 's3':
        try {
          await handleS3(req, res, url, rawPath, { store: deps.s3, region: deps.region, requestId: rid, baseUrl: deps.baseUrl() });
        } catch (e) {
          const err = e instanceof AwsError ? e : internalError(e);
          if (!(e instanceof AwsError)) deps.logger.error({ err: e }, 'local-aws: S3 handler error');
          if (res.headersSent) res.destroy();
          else sendS3Error(req, res, rid, err);
        }
        return;
      case 'json': {
        try {
          const raw = (await readBody(req)).toString('utf8');
          let body: unknown = {};
          try {
            body = raw.trim() ? JSON.parse(raw) : {};
          } catch {
            throw new AwsError('SerializationException', 'Start of structure or map found where not expected');
          }
          if (!isObject(body)) throw new AwsError('SerializationException', 'Request body must be a JSON object');
          let out: JsonObject;
          if (r.service === 'sagemaker') out = deps.sagemaker.handle(r.action, body);
          else if (r.service === 'events') out = handleEvents(r.action, body, deps.bus);
          else if (r.service === 'logs') out = handleLogs(r.action, body, { store: deps.logs, region: deps.region, accountId: deps.accountId });
          else {
            const ac = new AbortController();
            res.on('close', () => ac.abort());
            out = await handleSqs(r.action, body, { queues: deps.sqs, signal: ac.signal });
          }
          sendJson(res, rid, 200, out, JSON_VERSION[r.service]);
        } catch (e) {
          const err = e instanceof AwsError ? e : internalError(e);
          if (!(e instanceof AwsError)) deps.logger.error({ err: e, action: r.action }, 'local-aws: handler error');
          sendJsonError(res, rid, err, r.service);
        }
        return;
      }
      case 'rest-json': {
        try {
          const body = await readBody(req, 7 * 1024 * 1024);
          const out = await deps.sagemaker.endpoints.invoke(r.endpointName, body, {
            contentType: header(req, 'content-type'),
            accept: header(req, 'accept'),
            targetVariant: header(req, 'x-amzn-sagemaker-target-variant'),
          });
          send(res, 200, { 'Content-Type': out.contentType, 'x-Amzn-Invoked-Production-Variant': out.variant, 'x-amzn-RequestId': rid }, out.body);
        } catch (e) {
          const err = e instanceof AwsError ? e : internalError(e);
          send(
            res,
            err.status,
            {
              'Content-Type': 'application/json',
              'x-amzn-RequestId': rid,
              'x-amzn-ErrorType': `${err.code}:http://internal.amazon.com/coral/com.amazonaws.sagemaker/`,
            },
            JSON.stringify({ message: err.message, ...err.fields }),
          );
        }
        return;
      }
      case 'query': {
        const params = formParams ?? new URLSearchParams();
        const action = params.get('Action') ?? '';
        const xmlns = r.service === 'sts' ? STS_XMLNS : 'http://queue.amazonaws.com/doc/2012-11-05/';
        try {
          let xml: string;
          if (r.service === 'sts') xml = deps.sts.handle(action, params, sig.accessKeyId, rid);
          else {
            const ac = new AbortController();
            res.on('close', () => ac.abort());
            const input = queryToJson(params);
            // The legacy protocol posts to the queue URL itself instead of naming it.
            if (input.QueueUrl === undefined && /^\/[^/]+\/[^/]+\/?$/.test(rawPath)) input.QueueUrl = deps.baseUrl() + rawPath;
            xml = jsonToQueryXml(action, await handleSqs(action, input, { queues: deps.sqs, signal: ac.signal }), rid);
          }
          send(res, 200, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': rid }, xml);
        } catch (e) {
          const err = e instanceof AwsError ? e : internalError(e);
          const code = r.service === 'sqs' && err.queryError ? err.queryError.split(';')[0] : err.code;
          send(
            res,
            err.status,
            { 'Content-Type': 'text/xml', 'x-amzn-RequestId': rid },
            queryErrorXml(new AwsError(code, err.message, { status: err.status, fault: err.fault }), rid, xmlns),
          );
        }
        return;
      }
      case 'unknown':
        sendJsonError(res, rid, new AwsError('UnknownOperationException', r.message), 'sagemaker');
        return;
    }
  };

  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      deps.logger.error({ err }, 'local-aws: unhandled request error');
      if (!res.headersSent) send(res, 500, { 'Content-Type': 'application/json' }, JSON.stringify({ __type: 'InternalFailure', message: String(err) }));
      else res.destroy();
    });
  });
}
