/**
 * `deferflow aws setup-events` — create (or find) the SQS queue, dead-letter queue, EventBridge rule
 * and target through which the triggerer hears SageMaker job state changes. Uses the AWS connection
 * named by --aws-conn-id (stored connections need a database) or the SDK's default chain, so it
 * works the same against real AWS and the local AWS (`AWS_ENDPOINT_URL`).
 */
import { z } from 'zod';
import { ConnectionRepository } from '../../connections/connection-repository.ts';
import type { Opts } from '../command-kit.ts';
import type { CliContext } from '../context.ts';
import { printObject, printRows } from '../output/renderer.ts';
import { validate } from '../validation.ts';

import { DEFAULT_EVENTS_QUEUE } from '../program/operations.ts';

const setupInput = z.object({
  queue: z.string().regex(/^[A-Za-z0-9_-]{1,76}$/, "must be 1-76 letters, digits, '-' or '_' (SQS queue names; '-dlq' is appended for the dead-letter queue)"),
  awsConnId: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,250}$/, 'must be a connection id')
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1')
    .optional(),
});

export async function setupEvents(ctx: CliContext, _args: Array<string | undefined>, opts: Opts): Promise<void> {
  const input = validate(
    setupInput,
    { queue: opts.queue ?? DEFAULT_EVENTS_QUEUE, awsConnId: opts.awsConnId, region: opts.region },
    { queue: '--queue', awsConnId: '--aws-conn-id', region: '--region' },
    'Invalid input',
  );
  let connections: ConnectionRepository | undefined;
  try {
    ctx.mongoUri();
    connections = new ConnectionRepository(await ctx.store());
  } catch {
    // No database: only DEFERFLOW_CONN_* connections and the SDK default chain are available.
    connections = undefined;
  }
  const [{ AwsClientFactory }, { setupSageMakerEvents }] = await Promise.all([
    import('../../providers/aws/aws-clients.ts'),
    import('../../providers/aws/setup-events.ts'),
  ]);
  const factory = new AwsClientFactory(connections ? { connections } : {});
  try {
    const r = await setupSageMakerEvents({ clients: factory, connId: input.awsConnId ?? null, queueName: input.queue, region: input.region ?? null });
    if (ctx.format === 'json') {
      printObject(ctx.writer, 'json', r as unknown as Record<string, unknown>);
      return;
    }
    printRows(ctx.writer, ctx.format, r.resources, [{ key: 'kind' }, { key: 'name' }, { key: 'outcome' }]);
    ctx.writer.out(`SageMaker state-change events now reach ${r.queueUrl}`);
  } finally {
    factory.destroy();
  }
}
