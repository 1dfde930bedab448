/**
 * The task scope: code a task calls without its context (a hook built the Airflow way) sees the
 * services of the task that runs it — across awaits, and never another task's.
 */
import { describe, expect, it } from 'vitest';
import { currentTaskServices, runInTaskScope } from '../../../src/services/task-scope.ts';
import { AwsClientFactory } from '../../../src/providers/aws/aws-clients.ts';
import { clientsForHook } from '../../../src/providers/aws/services.ts';
import { S3Hook } from '../../../src/providers/aws/hooks/s3-hook.ts';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('task scope', () => {
  it('carries each task’s services through its awaits, two tasks at once', async () => {
    const seen: string[] = [];
    const task = (name: string, delay: number) =>
      runInTaskScope({ name }, async () => {
        await pause(delay);
        seen.push(`${name}:${String(currentTaskServices()?.name)}`);
        await pause(delay);
        seen.push(`${name}:${String(currentTaskServices()?.name)}`);
      });
    await Promise.all([task('a', 15), task('b', 5)]);
    expect(seen.sort()).toEqual(['a:a', 'a:a', 'b:b', 'b:b']);
    expect(currentTaskServices()).toBeUndefined();
  });

  it('a hook built inside a task uses the task’s AWS clients; outside a task, its own over the environment', async () => {
    const clients = new AwsClientFactory({ env: {} });
    const inside = await runInTaskScope({ awsClients: clients }, async () => {
      await pause(1);
      return { hook: clientsForHook(), s3: new S3Hook({ aws_conn_id: 'x' }) };
    });
    expect(inside.hook).toBe(clients);
    expect((inside.s3 as unknown as { clients: AwsClientFactory }).clients).toBe(clients);
    const outside = clientsForHook();
    expect(outside).toBeInstanceOf(AwsClientFactory);
    expect(outside).not.toBe(clients);
    clients.destroy();
    outside.destroy();
  });
});
