/**
 * /metrics and /health for a process that has no webserver (scheduler, worker, triggerer): a bare
 * node:http server (no framework to load in a worker), on a host/port the operator chooses
 * (`--metrics-port`, DEFERFLOW_METRICS_PORT; 0 = any free port). /metrics is the process
 * registry in Prometheus' text format; /health says whether the process runs (200) or not (503).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ProcessHealth {
  /** `healthy` answers 200, anything else 503. */
  status: 'healthy' | 'starting' | 'stopping' | 'unhealthy';
  [detail: string]: unknown;
}

export interface MetricsServerOptions {
  registry: Registry;
  host: string;
  port: number;
  health: () => ProcessHealth | Promise<ProcessHealth>;
}

export interface RunningMetricsServer {
  url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(o: MetricsServerOptions): Promise<RunningMetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = async () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Use GET\n');
        return;
      }
      if (path === '/metrics') {
        const body = await o.registry.metrics();
        res.writeHead(200, { 'content-type': o.registry.contentType }).end(body);
      } else if (path === '/health') {
        const h = await o.health();
        res.writeHead(h.status === 'healthy' ? 200 : 503, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(h));
      } else {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: this process serves /metrics and /health\n');
      }
    };
    answer().catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`metrics failed: ${e instanceof Error ? e.message : String(e)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
