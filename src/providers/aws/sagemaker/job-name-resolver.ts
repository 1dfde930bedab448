/**
 * Deciding the name a job is submitted under (action_if_job_exists), so that a task never
 * submits the same work twice:
 *
 *  - the rendered name is free → use it;
 *  - a job of that name was submitted by this task instance (ownership tags) and is still usable
 *    (running or completed, or created by this very try) → adopt it: no new submission;
 *  - otherwise the name belongs to someone else (another run, an earlier failed try):
 *      fail      → error naming the job (Airflow: "A SageMaker job with name … already exists.")
 *      skip      → reuse that job (wait for it / return its description)
 *      increment → `<name>-<N+1>`, N from ONE paginated List(NameContains) call
 *      timestamp → `<name>-<epoch seconds>`, kept within SageMaker's length limit (Airflow's default)
 *    where for increment/timestamp the newest suffixed job is checked first: a try that died after
 *    submitting `<name>-<N>` is recognised and adopted.
 */
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { Logger } from 'pino';
import { DeferflowError } from '../../../errors/deferflow-error.ts';
import { InvalidInputError } from '../../../errors/invalid-input-error.ts';
import { isNotFound } from '../aws-errors.ts';
import { failsTask, type Description, type SageMakerResource } from './resources.ts';
import { readOwnership, type TaskInstanceIdentity } from './ownership.ts';

export const ACTIONS_IF_JOB_EXISTS = ['fail', 'increment', 'skip', 'timestamp'] as const;
export type ActionIfJobExists = (typeof ACTIONS_IF_JOB_EXISTS)[number];

export interface NameResolution {
  name: string;
  /** Set when an existing job is used instead of submitting one. */
  existing: Description | null;
  /** Why the existing job is used ('ours': submitted by this task instance; 'skip': action skip). */
  reason: 'new' | 'ours' | 'skip';
}

export interface ResolveNameInput {
  kind: SageMakerResource;
  client: SageMakerClient;
  baseName: string;
  action: ActionIfJobExists;
  checkIfJobExists: boolean;
  ti: TaskInstanceIdentity;
  log: Logger;
  signal?: AbortSignal;
  /** Clock for the timestamp suffix (tests). */
  nowMs?: () => number;
}

/** Describe, or null when SageMaker says the resource does not exist (aws-errors decides). */
export async function describeOrNull(kind: SageMakerResource, client: SageMakerClient, name: string, signal?: AbortSignal): Promise<Description | null> {
  try {
    return await kind.describe(client, name, signal);
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

/** Ours and still worth continuing with (a previous try's failed job is not: the retry needs a new one). */
export async function isAdoptable(input: Pick<ResolveNameInput, 'kind' | 'client' | 'ti' | 'signal'>, desc: Description): Promise<boolean> {
  const own = await readOwnership(input.client, desc[input.kind.arnField], input.ti, input.signal);
  if (!own?.ours) return false;
  const status = String(desc[input.kind.statusField] ?? '');
  return own.tryNumber === input.ti.try_number || !failsTask(input.kind, status);
}

export async function resolveJobName(input: ResolveNameInput): Promise<NameResolution> {
  const { kind, client, baseName, action, log } = input;
  if (baseName.length > kind.maxNameLength) {
    throw new InvalidInputError(`${kind.nameField} '${baseName}' is longer than SageMaker's ${kind.maxNameLength} characters`);
  }
  if (!input.checkIfJobExists) return { name: baseName, existing: null, reason: 'new' };
  const existing = await describeOrNull(kind, client, baseName, input.signal);
  if (!existing) return { name: baseName, existing: null, reason: 'new' };
  if (await isAdoptable(input, existing)) {
    log.info(`Found ${kind.noun} ${baseName} submitted earlier by this task; continuing with it instead of submitting again`);
    return { name: baseName, existing, reason: 'ours' };
  }
  switch (action) {
    case 'fail':
      throw new DeferflowError('INVALID_INPUT', `A SageMaker job with name ${baseName} already exists.`, {
        hint: "Render a unique name (e.g. with {{ ts_nodash }}) or set action_if_job_exists to 'timestamp', 'increment' or 'skip'",
      });
    case 'skip':
      log.info(`A ${kind.noun} named ${baseName} already exists; action_if_job_exists='skip' reuses it`);
      return { name: baseName, existing, reason: 'skip' };
    case 'increment':
      return incrementName(input);
    case 'timestamp':
      return timestampName(input);
  }
}

async function incrementName(input: ResolveNameInput): Promise<NameResolution> {
  const { kind, client, baseName, log } = input;
  const re = new RegExp(`^${escapeRegExp(baseName)}-(\\d+)$`);
  let max = 0;
  let newest: { name: string; n: number } | null = null;
  let token: string | undefined;
  // One paginated List call: never a Describe per candidate suffix.
  do {
    const page = await kind.listByName(client, baseName, token, input.signal);
    for (const j of page.items) {
      const m = re.exec(j.name);
      if (!m) continue;
      const n = Number(m[1]);
      if (n > max) max = n;
      if (!newest || n > newest.n) newest = { name: j.name, n };
    }
    token = page.nextToken;
  } while (token);
  if (newest) {
    const adopted = await adoptIfOurs(input, newest.name);
    if (adopted) return adopted;
  }
  const name = `${baseName}-${max + 1}`;
  if (name.length > kind.maxNameLength) {
    throw new InvalidInputError(`${kind.nameField} '${name}' (incremented to avoid a collision) is longer than SageMaker's ${kind.maxNameLength} characters`);
  }
  log.info(`Changed job name to '${name}' to avoid collision.`);
  return { name, existing: null, reason: 'new' };
}

async function timestampName(input: ResolveNameInput): Promise<NameResolution> {
  const { kind, client, baseName, log } = input;
  const stem = baseName.slice(0, kind.maxNameLength - 11);
  // A try that died after submitting `<stem>-<ts>` left the newest such job: check it first.
  const page = await kind.listByName(client, stem, undefined, input.signal);
  const re = new RegExp(`^${escapeRegExp(stem)}-\\d{10}$`);
  const newest = page.items
    .filter((j) => re.test(j.name))
    .sort((a, b) => (b.creationTime?.getTime() ?? 0) - (a.creationTime?.getTime() ?? 0) || b.name.localeCompare(a.name))[0];
  if (newest) {
    const adopted = await adoptIfOurs(input, newest.name);
    if (adopted) return adopted;
  }
  let ts = Math.floor((input.nowMs ?? Date.now)() / 1000);
  let name = `${stem}-${ts}`;
  // Two collisions in the same second: move on to the next second's name.
  while (await describeOrNull(kind, client, name, input.signal)) name = `${stem}-${++ts}`;
  log.info(`Changed job name to '${name}' to avoid collision.`);
  return { name, existing: null, reason: 'new' };
}

async function adoptIfOurs(input: ResolveNameInput, name: string): Promise<NameResolution | null> {
  const desc = await describeOrNull(input.kind, input.client, name, input.signal);
  if (!desc || !(await isAdoptable(input, desc))) return null;
  input.log.info(`Found ${input.kind.noun} ${name} submitted earlier by this task; continuing with it instead of submitting again`);
  return { name, existing: desc, reason: 'ours' };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
