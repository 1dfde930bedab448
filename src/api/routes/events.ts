/**
 * GET /api/v1/events — Server-Sent Events of state changes (task instances, DAG runs, triggers),
 * optionally for one DAG / run. The UI repaints from these without reloading. Each event's `data`
 * is a LiveChange as JSON; `event:` is its kind. A comment line every 15 s keeps proxies from
 * closing an idle stream.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { filter } from 'rxjs/operators';
import type { ApiContext } from '../api-context.ts';
import type { LiveChange } from '../live/live-changes.ts';
import { textResponse } from './responses.ts';

const Query = z.object({ dag_id: z.string().optional(), dag_run_id: z.string().optional() });
const KEEPALIVE_MS = 15_000;

function matches(c: LiveChange, q: z.infer<typeof Query>): boolean {
  if (c.kind === 'trigger') return !q.dag_id;
  const r = c.kind === 'task_instance' ? c.ti : c.run;
  return (!q.dag_id || r.dag_id === q.dag_id) && (!q.dag_run_id || r.dag_run_id === q.dag_run_id);
}

export function eventRoutes(app: FastifyInstance, ctx: ApiContext): void {
  // Streams never end on their own; close them so app.close() does not wait on them forever.
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of open) end();
  });
  app.get(
    '/api/v1/events',
    {
      schema: {
        querystring: Query,
        tags: ['Monitoring'],
        summary: 'Live state changes (text/event-stream)',
        response: { 200: textResponse('Server-Sent Events: one per change, event = its kind, data = JSON', 'text/event-stream') },
      },
    },
    (req, reply) => {
      const q = req.query as z.infer<typeof Query>;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ at: new Date().toISOString() })}\n\n`);
      let n = 0;
      const sub = ctx.live.changes$.pipe(filter((c) => matches(c, q))).subscribe({
        next: (c) => {
          res.write(`id: ${++n}\nevent: ${c.kind}\ndata: ${JSON.stringify(c)}\n\n`);
        },
        error: (err: unknown) => {
          req.log.warn({ err }, 'live change stream failed');
          res.end();
        },
      });
      const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
      const close = () => {
        clearInterval(keepalive);
        sub.unsubscribe();
        open.delete(end);
      };
      const end = () => {
        close();
        res.end();
      };
      open.add(end);
      req.raw.on('close', close);
      res.on('close', close);
    },
  );
}
