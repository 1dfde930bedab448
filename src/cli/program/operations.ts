/**
 * Operations commands as commander sees them: `db check|init`, `triggers list`,
 * `aws setup-events`. Implementations load on use (the AWS SDK only for `aws setup-events`).
 */
import type { Command } from 'commander';
import { action } from '../command-kit.ts';

/** The default SQS queue name; kept in sync with src/providers/aws/setup-events.ts (imported lazily there). */
export const DEFAULT_EVENTS_QUEUE = 'deferflow-sagemaker-events';

export function registerOperationsCommands(program: Command): void {
  const db = program.command('db').description('Database operations');
  db.command('check')
    .description('Check the MongoDB connection, server version and indexes')
    .action(action(async () => (await import('../commands/db.ts')).checkDb));
  db.command('init')
    .description('Create the collections and indexes deferflow needs (idempotent)')
    .action(action(async () => (await import('../commands/db.ts')).initDb));

  const triggers = program.command('triggers').description('Inspect triggers (what deferred tasks wait on)');
  triggers
    .command('list')
    .description('List triggers with their task, owner triggerer and age')
    .option('--dag-id <dag_id>', 'only triggers of this DAG')
    .option('--limit <n>', 'at most this many', '1000')
    .action(action(async () => (await import('../commands/triggers.ts')).listTriggersCommand));

  const aws = program.command('aws').description('AWS set-up');
  aws
    .command('setup-events')
    .description('Create the EventBridge rule and SQS queue that deliver SageMaker job state changes to the triggerer (idempotent)')
    .option('--queue <name>', `SQS queue name (default ${DEFAULT_EVENTS_QUEUE}-<deployment id>, the rule then matching only this deployment's jobs)`)
    .option('--aws-conn-id <conn_id>', 'AWS connection to use (default: the SDK default chain)')
    .option('--region <region>', "AWS region (default: the connection's or the SDK's)")
    .action(action(async () => (await import('../commands/aws.ts')).setupEvents));
}
