/**
 * Server time by command shape for the benchmarks: `find task_instances {_id,state}` etc. — what
 * a query looks like, not its values — from the driver's command monitoring. Each entry's `ms` is
 * the round trip as the client saw it (queueing on a serialised server included); `docs` the
 * documents it returned (what the client decoded).
 */
import type { MongoClient } from 'mongodb';

export interface CommandProfile {
  snapshot(): Record<string, { n: number; ms: number; ms_avg: number; docs: number }>;
  reset(): void;
}

export function commandShape(name: string, cmd: Record<string, unknown>): string {
  const coll = typeof cmd[name] === 'string' ? (cmd[name] as string) : '';
  const keys = (o: unknown): string => (o && typeof o === 'object' ? `{${Object.keys(o).sort().join(',')}}` : '');
  if (name === 'find' || name === 'findAndModify' || name === 'count') return `${name} ${coll} ${keys(cmd.filter ?? cmd.query)}`;
  if (name === 'update') return `update ${coll} ${keys((cmd.updates as Array<{ q: unknown }> | undefined)?.[0]?.q)}`;
  if (name === 'delete') return `delete ${coll} ${keys((cmd.deletes as Array<{ q: unknown }> | undefined)?.[0]?.q)}`;
  return `${name} ${coll}`;
}

/** Attach to a client created with `monitorCommands: true`; counts commands started while `counting()`. */
export function profileCommands(client: MongoClient, counting: () => boolean = () => true): CommandProfile {
  const starts = new Map<number, string>();
  const profile = new Map<string, { n: number; ms: number; docs: number }>();
  client.on('commandStarted', (e) => {
    if (counting()) starts.set(e.requestId, commandShape(e.commandName, e.command as Record<string, unknown>));
  });
  const done = (e: { requestId: number; duration: number; reply?: unknown }): void => {
    const shape = starts.get(e.requestId);
    if (shape === undefined) return;
    starts.delete(e.requestId);
    const p = profile.get(shape) ?? { n: 0, ms: 0, docs: 0 };
    p.n += 1;
    p.ms += e.duration;
    const cursor = (e.reply as { cursor?: { firstBatch?: unknown[]; nextBatch?: unknown[] } } | undefined)?.cursor;
    p.docs += (cursor?.firstBatch ?? cursor?.nextBatch ?? []).length;
    profile.set(shape, p);
  };
  client.on('commandSucceeded', done);
  client.on('commandFailed', done);
  return {
    snapshot: () =>
      Object.fromEntries(
        [...profile]
          .sort((a, b) => b[1].ms - a[1].ms)
          .map(([k, v]) => [k, { n: v.n, ms: Math.round(v.ms), ms_avg: Math.round((v.ms / v.n) * 10) / 10, docs: v.docs }]),
      ),
    reset: () => profile.clear(),
  };
}
