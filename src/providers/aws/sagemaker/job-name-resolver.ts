/**
 * Submitting a job under the name `action_if_job_exists` decides, so that a task never submits
 * the same work twice — with no existence probe: Create is tried first, and SageMaker's answer
 * that the name is taken (`ResourceInUse` / `ValidationException … already exists`) says what a
 * Describe would have. A free name costs ONE call (the Create).
 *
 *  - the rendered name is free → Create succeeded, done;
 *  - it is taken by a job this task instance submitted (ownership tags, same deployment) and still
 *    usable (running or completed, or created by this very try) → adopt it: no new submission
 *    (a real retry of a real run after a crash between Create and defer);
 *  - otherwise the name belongs to someone else (another run, an earlier failed try, another
 *    deployment — e.g. an earlier `tasks test`, which runs as a deployment of its own):
 *      fail      → error naming the job (Airflow: "A SageMaker job with name … already exists.")
 *      skip      → reuse that job (wait for it / return its description)
 *      increment → `<name>-<N+1>`, N from ONE paginated List(NameContains) call
 *      timestamp → `<name>-<epoch seconds>`, kept within SageMaker's length limit (Airflow's default)
 *    where for increment/timestamp the newest suffixed job is checked first: a try that died after
 *    submitting `<name>-<N>` is recognised and adopted. A suffixed name someone took between our
 *    List and our Create is answered the same way (Create says taken) and the next one is tried.
 *
 * `check_if_job_exists: false` (Airflow's switch) submits the rendered name as it is: a taken
 * name fails the task with SageMaker's own answer.
 */
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { Logger } from 'pino';
import { DeferflowError } from '../../../errors/deferflow-error.ts';
import { InvalidInputError } from '../../../errors/invalid-input-error.ts';
import { isAlreadyExists, isNotFound, toAwsError } from '../aws-errors.ts';
import { failsTask, type Description, type SageMakerResource } from './resources.ts';
import { readOwnership, withOwnershipTags, type TaskInstanceIdentity } from './ownership.ts';

export const ACTIONS_IF_JOB_EXISTS = ['fail', 'increment', 'skip', 'timestamp'] as const;
export type ActionIfJobExists = (typeof ACTIONS_IF_JOB_EXISTS)[number];

export interface Submission {
  name: string;
  /** The ARN SageMaker answered (a new job), or the existing job's. */
  arn: string | null;
  /** Set when an existing job is used instead of submitting one. */
  existing: Description | null;
  /** Why: 'new' (submitted now), 'ours' (submitted earlier by this task instance), 'skip' (action skip). */
  reason: 'new' | 'ours' | 'skip';
}

export interface SubmitJobInput {
  kind: SageMakerResource;
  client: SageMakerClient;
  /** The Create request; its name field is set to the name submitted, and our ownership tags added. */
  request: Record<string, unknown>;
  baseName: string;
  action: ActionIfJobExists;
  checkIfJobExists: boolean;
  ti: TaskInstanceIdentity;
  log: Logger;
  /** Called before each Create with the name about to be submitted (the operator records it). */
  beforeCreate(name: string): Promise<void>;
  signal?: AbortSignal;
  /** Clock for the timestamp suffix (tests). */
  nowMs?: () => number;
}

/** A name someone may take between our List and our Create: try this many names before giving up. */
const MAX_NAME_ATTEMPTS = 5;

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
export async function isAdoptable(input: Pick<SubmitJobInput, 'kind' | 'client' | 'ti' | 'signal'>, desc: Description): Promise<boolean> {
  const own = await readOwnership(input.client, desc[input.kind.arnField], input.ti, input.signal);
  if (!own?.ours) return false;
  const status = String(desc[input.kind.statusField] ?? '');
  return own.tryNumber === input.ti.try_number || !failsTask(input.kind, status);
}

export async function submitJob(input: SubmitJobInput): Promise<Submission> {
  const { kind, baseName } = input;
  if (baseName.length > kind.maxNameLength) {
    throw new InvalidInputError(`${kind.nameField} '${baseName}' is longer than SageMaker's ${kind.maxNameLength} characters`);
  }
  withOwnershipTags(input.request, input.ti);
  const first = await tryCreate(input, baseName);
  if (first.created) return { name: baseName, arn: first.arn, existing: null, reason: 'new' };
  if (!input.checkIfJobExists) {
    throw new DeferflowError('INVALID_INPUT', `A SageMaker job with name ${baseName} already exists.`, {
      cause: first.cause,
      hint: 'check_if_job_exists is off, so the name is submitted as rendered: render a unique name or turn the check on',
    });
  }
  return nameTaken(input, first.cause);
}

/** The rendered name is taken: adopt our own job, or act as `action_if_job_exists` says. */
async function nameTaken(input: SubmitJobInput, cause: unknown): Promise<Submission> {
  const { kind, client, baseName, action, log } = input;
  const existing = await describeOrNull(kind, client, baseName, input.signal);
  if (!existing) {
    // Taken a moment ago and gone now (deleted): submit under it after all.
    const again = await tryCreate(input, baseName);
    if (again.created) return { name: baseName, arn: again.arn, existing: null, reason: 'new' };
    throw new DeferflowError('INVALID_INPUT', `A SageMaker job with name ${baseName} already exists.`, { cause: again.cause });
  }
  if (await isAdoptable(input, existing)) {
    log.info(`Found ${kind.noun} ${baseName} submitted earlier by this task; continuing with it instead of submitting again`);
    return { name: baseName, arn: arnOf(kind, existing), existing, reason: 'ours' };
  }
  log.info(`The name ${baseName} is taken by another ${kind.noun} (action_if_job_exists='${action}')`);
  switch (action) {
    case 'fail':
      throw new DeferflowError('INVALID_INPUT', `A SageMaker job with name ${baseName} already exists.`, {
        cause,
        hint: "Render a unique name (e.g. with {{ ts_nodash }}) or set action_if_job_exists to 'timestamp', 'increment' or 'skip'",
      });
    case 'skip':
      log.info(`A ${kind.noun} named ${baseName} already exists; action_if_job_exists='skip' reuses it`);
      return { name: baseName, arn: arnOf(kind, existing), existing, reason: 'skip' };
    case 'increment':
      return incremented(input);
    case 'timestamp':
      return timestamped(input);
  }
}

async function incremented(input: SubmitJobInput): Promise<Submission> {
  const { kind, client, baseName, log } = input;
  const re = new RegExp(`^${escapeRegExp(baseName)}-(\\d+)$`);
  let max = 0;
  let newest: string | null = null;
  let token: string | undefined;
  // One paginated List call: never a Describe per candidate suffix.
  do {
    const page = await kind.listByName(client, baseName, token, input.signal);
    for (const j of page.items) {
      const m = re.exec(j.name);
      if (!m) continue;
      const n = Number(m[1]);
      if (n > max) {
        max = n;
        newest = j.name;
      }
    }
    token = page.nextToken;
  } while (token);
  if (newest) {
    const adopted = await adoptIfOurs(input, newest);
    if (adopted) return adopted;
  }
  for (let n = max + 1, attempt = 0; attempt < MAX_NAME_ATTEMPTS; n++, attempt++) {
    const name = `${baseName}-${n}`;
    if (name.length > kind.maxNameLength) {
      throw new InvalidInputError(`${kind.nameField} '${name}' (incremented to avoid a collision) is longer than SageMaker's ${kind.maxNameLength} characters`);
    }
    log.info(`Changed job name to '${name}' to avoid collision.`);
    const r = await tryCreate(input, name);
    if (r.created) return { name, arn: r.arn, existing: null, reason: 'new' };
  }
  throw new DeferflowError('INVALID_INPUT', `Could not find a free name after ${baseName}-${max + 1} (${MAX_NAME_ATTEMPTS} names taken meanwhile)`);
}

async function timestamped(input: SubmitJobInput): Promise<Submission> {
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
  for (let attempt = 0; attempt < MAX_NAME_ATTEMPTS; attempt++, ts++) {
    // Two collisions in the same second: move on to the next second's name.
    const name = `${stem}-${ts}`;
    if (attempt === 0) log.info(`Changed job name to '${name}' to avoid collision.`);
    const r = await tryCreate(input, name);
    if (r.created) {
      if (attempt > 0) log.info(`Changed job name to '${name}' to avoid collision.`);
      return { name, arn: r.arn, existing: null, reason: 'new' };
    }
  }
  throw new DeferflowError('INVALID_INPUT', `Could not find a free name for ${stem}-<epoch seconds> (${MAX_NAME_ATTEMPTS} names taken meanwhile)`);
}

async function adoptIfOurs(input: SubmitJobInput, name: string): Promise<Submission | null> {
  const desc = await describeOrNull(input.kind, input.client, name, input.signal);
  if (!desc || !(await isAdoptable(input, desc))) return null;
  input.log.info(`Found ${input.kind.noun} ${name} submitted earlier by this task; continuing with it instead of submitting again`);
  return { name, arn: arnOf(input.kind, desc), existing: desc, reason: 'ours' };
}

/** Create under `name`: the ARN, or that the name is taken (any other error is thrown). */
async function tryCreate(input: SubmitJobInput, name: string): Promise<{ created: true; arn: string | null } | { created: false; cause: unknown }> {
  const { kind } = input;
  input.request[kind.nameField] = name;
  await input.beforeCreate(name);
  try {
    const { arn } = await kind.create(input.client, input.request, input.signal);
    return { created: true, arn };
  } catch (e) {
    if (isAlreadyExists(e)) return { created: false, cause: e };
    throw toAwsError(e, `${kind.operations.create} ${name}`);
  }
}

function arnOf(kind: SageMakerResource, desc: Description): string | null {
  const arn = desc[kind.arnField];
  return typeof arn === 'string' ? arn : null;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
