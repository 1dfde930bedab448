/**
 * Models and endpoint configs: created once, immutable, referenced by name. A retry (or a try on
 * another worker after a crash) finds the one this task instance created (ownership tags) and
 * reuses it instead of failing on "already exists" or creating a twin.
 */
import type { CreateEndpointConfigCommandInput, CreateModelCommandInput, SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { Logger } from 'pino';
import { DeferflowError } from '../../../errors/deferflow-error.ts';
import { fenceCurrentTask } from '../../../services/task-scope.ts';
import { InvalidInputError } from '../../../errors/invalid-input-error.ts';
import { isAlreadyExists, isNotFound, toAwsError } from '../aws-errors.ts';
import type { Description } from './resources.ts';
import { readOwnership, withOwnershipTags, type TaskInstanceIdentity } from './ownership.ts';
import { sageMakerSdk } from '../sdk.ts';

const opt = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : undefined);

export async function describeModel(client: SageMakerClient, name: string, signal?: AbortSignal): Promise<Description | null> {
  try {
    return (await client.send(new (sageMakerSdk().DescribeModelCommand)({ ModelName: name }), opt(signal))) as unknown as Description;
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

export async function describeEndpointConfig(client: SageMakerClient, name: string, signal?: AbortSignal): Promise<Description | null> {
  try {
    return (await client.send(new (sageMakerSdk().DescribeEndpointConfigCommand)({ EndpointConfigName: name }), opt(signal))) as unknown as Description;
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

export interface EnsureInput {
  client: SageMakerClient;
  ti: TaskInstanceIdentity;
  log: Logger;
  signal?: AbortSignal;
  /** Look for an existing model first (Airflow's check_if_model_exists; default true). */
  check?: boolean;
  /** Airflow's action_if_model_exists: 'timestamp' renames, 'fail' errors (default: AWS's own error). */
  action?: 'timestamp' | 'fail' | null;
}

/** Create the model unless this task instance already did; returns the name it ended up with. */
export async function ensureModel(config: Record<string, unknown>, input: EnsureInput): Promise<string> {
  const base = config.ModelName;
  if (typeof base !== 'string' || !base) throw new InvalidInputError('config.ModelName is required');
  let name = base;
  if (input.check ?? true) {
    const existing = await describeModel(input.client, base, input.signal);
    if (existing) {
      const own = await readOwnership(input.client, existing.ModelArn, input.ti, input.signal);
      if (own?.ours) {
        input.log.info(`Model ${base} was created earlier by this task; reusing it`);
        return base;
      }
      if (input.action === 'fail') throw new DeferflowError('INVALID_INPUT', `A SageMaker model with name ${base} already exists.`);
      if (input.action === 'timestamp') {
        let ts = Math.floor(Date.now() / 1000);
        name = `${base.slice(0, 63 - 11)}-${ts}`;
        while (await describeModel(input.client, name, input.signal)) name = `${base.slice(0, 63 - 11)}-${++ts}`;
        input.log.info(`Changed model name to '${name}' to avoid collision.`);
      }
    }
  }
  const request = { ...config, ModelName: name };
  withOwnershipTags(request, input.ti);
  input.log.info(`Creating SageMaker model ${name}.`);
  // Lease fencing (issue 14.0): not from a try that lost its lease.
  await fenceCurrentTask();
  try {
    await input.client.send(new (sageMakerSdk().CreateModelCommand)(request as unknown as CreateModelCommandInput), opt(input.signal));
  } catch (e) {
    if (await ownedAfterConflict(e, () => describeModel(input.client, name, input.signal), 'ModelArn', input)) return name;
    throw toAwsError(e, `CreateModel ${name}`);
  }
  return name;
}

/** Create the endpoint config unless this task instance already did. */
export async function ensureEndpointConfig(config: Record<string, unknown>, input: EnsureInput): Promise<string> {
  const name = config.EndpointConfigName;
  if (typeof name !== 'string' || !name) throw new InvalidInputError('config.EndpointConfigName is required');
  const existing = await describeEndpointConfig(input.client, name, input.signal);
  if (existing) {
    const own = await readOwnership(input.client, existing.EndpointConfigArn, input.ti, input.signal);
    if (own?.ours) {
      input.log.info(`Endpoint config ${name} was created earlier by this task; reusing it`);
      return name;
    }
  }
  const request = { ...config };
  withOwnershipTags(request, input.ti);
  input.log.info(`Creating SageMaker endpoint config ${name}.`);
  // Lease fencing (issue 14.0): not from a try that lost its lease.
  await fenceCurrentTask();
  try {
    await input.client.send(new (sageMakerSdk().CreateEndpointConfigCommand)(request as unknown as CreateEndpointConfigCommandInput), opt(input.signal));
  } catch (e) {
    if (await ownedAfterConflict(e, () => describeEndpointConfig(input.client, name, input.signal), 'EndpointConfigArn', input)) return name;
    throw toAwsError(e, `CreateEndpointConfig ${name}`);
  }
  return name;
}

async function ownedAfterConflict(e: unknown, describe: () => Promise<Description | null>, arnField: string, input: EnsureInput): Promise<boolean> {
  if (!isAlreadyExists(e)) return false;
  const d = await describe();
  const own = d ? await readOwnership(input.client, d[arnField], input.ti, input.signal) : null;
  return own?.ours === true;
}
