/**
 * `deferflow aws setup-events` — create (or find) the SQS queue, dead-letter queue, EventBridge rule
 * and target through which the triggerer hears SageMaker job state changes. Uses the AWS connection
 * named by --aws-conn-id (stored connections need a database) or the SDK's default chain, so it
 * works the same against real AWS and the local AWS (`AWS_ENDPOINT_URL`).
 */
import { z } from 'zod';
import { ConnectionRepository } from '../../connections/connection-repository.ts';
import { deploymentIdOf } from '../../store/repositories/deployment-repository.ts';
import type { Opts } from '../command-kit.ts';
import type { CliContext } from '../context.ts';
import { printObject, printRows } from '../output/renderer.ts';
import { validate } from '../validation.ts';

const setupInput = z.object({
  queue: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,76}$/, "must be 1-76 letters, digits, '-' or '_' (SQS queue names; '-dlq' is appended for the dead-letter queue)")
    .optional(),
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
    { queue: opts.queue, awsConnId: opts.awsConnId, region: opts.region },
    { queue: '--queue', awsConnId: '--aws-conn-id', region: '--region' },
    'Invalid input',
  );
  let connections: ConnectionRepository | undefined;
  // The deployment (its database) names the queue and filters the rule to its own jobs.
  let deploymentId: string | null = null;
  try {
    ctx.mongoUri();
    const store = await ctx.store();
    connections = new ConnectionRepository(store);
    deploymentId = await deploymentIdOf(store);
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
    const r = await setupSageMakerEvents({
      clients: factory,
      connId: input.awsConnId ?? null,
      queueName: input.queue,
      deploymentId,
      region: input.region ?? null,
    });
    if (ctx.format === 'json') {
      printObject(ctx.writer, 'json', r as unknown as Record<string, unknown>);
      return;
    }
    printRows(ctx.writer, ctx.format, r.resources, [{ key: 'kind' }, { key: 'name' }, { key: 'outcome' }]);
    ctx.writer.out(`SageMaker state-change events now reach ${r.queueUrl}`);
    if (r.deploymentId) {
      // Whether the triggerer finds the queue by itself: only under the deployment's own name.
      const own = input.queue === undefined;
      ctx.writer.out(
        `The rule matches only the jobs of deployment ${r.deploymentId} (this database); ${own ? '`deferflow triggerer` finds this queue by itself' : 'start `deferflow triggerer` with --events-queue-url ' + r.queueUrl}`,
      );
    }
  } finally {
    factory.destroy();
  }
}
