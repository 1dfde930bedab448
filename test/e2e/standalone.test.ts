/**
 * `deferflow standalone` as a child process, and the seed-1 commands run in another "terminal"
 * with no MONGODB_URI: they find the stack through $DEFERFLOW_HOME/standalone.json. Then
 * `deferflow start --serve`, which keeps the UI up after the run until SIGTERM.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliHarness, ROOT, type CliHarness, type RunningCli } from '../cli/cli-harness.ts';
import { NO_AWS_ENV } from './e2e-env.ts';
import { poller } from '../support/wait-for.ts';

const env = { ...NO_AWS_ENV, DEFERFLOW_DAGS_FOLDER: join(ROOT, 'dags'), DEFERFLOW_WEBSERVER_PORT: '0' };
/** Another terminal on the same machine: same DEFERFLOW_HOME, nothing else configured. */
const elsewhere = { ...env, MONGODB_URI: undefined };

const waitFor = poller({ timeoutMs: 60_000, intervalMs: 200 });

/**
 * The `deferflow …` commands of the README's bash block that follows `marker`, as argument lists:
 * `\` continuations joined, single-quoted words unquoted — what a shell would pass.
 */
function readmeCommands(marker: string): string[][] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /```bash\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf(marker)))![1];
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('deferflow '))
    .map((l) => [...l.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]).slice(1));
}

interface StandaloneJson {
  webserver_url: string;
  mongo_uri: string;
  local_aws_url: string;
  events_queue_url: string;
  connections: Record<string, string>;
  variables_set: string[];
  demo_data: string;
  env: Record<string, string>;
  pid: number;
}

let h: CliHarness;
beforeAll(async () => {
  h = await createCliHarness('standalone');
});
afterAll(async () => {
  await h?.close();
});

describe('deferflow standalone', { timeout: 180_000 }, () => {
  let sa: RunningCli;
  let info: StandaloneJson;

  it('starts every process, seeds connections and data, and records itself for other CLI calls', async () => {
    sa = h.start(['standalone', '--output', 'json'], { env });
    info = await waitFor('the standalone to report', () => {
      const line = sa
        .output()
        .split('\n')
        .find((l) => l.startsWith('{"webserver_url"'));
      return line ? (JSON.parse(line) as StandaloneJson) : null;
    });
    expect(info.mongo_uri).toBe(h.uri);
    expect(info.connections).toEqual({ aws_default: 'created', 'aws-sagemaker': 'created' });
    expect(info.variables_set.sort()).toEqual(['role', 's3_bucket']);
    expect(info.demo_data).toBe('s3://deferflow-demo/sample-data/iris/train.csv');
    expect(info.events_queue_url).toContain('/deferflow-sagemaker-events');
    expect(info.env).toEqual({ MONGODB_URI: h.uri, DEFERFLOW_HOME: h.home });
    const state = JSON.parse(readFileSync(join(h.home, 'standalone.json'), 'utf8')) as Record<string, unknown>;
    expect(state).toMatchObject({ mongoUri: h.uri, pid: info.pid, webserverUrl: info.webserver_url, localAwsUrl: info.local_aws_url });
    const health = await fetch(`${info.webserver_url}/api/v1/health`);
    expect(health.status).toBe(200);
  });

  it('runs the Airflow guide commands against it with no MONGODB_URI', async () => {
    const trig = await h.run(['dags', 'trigger', '-e', '2025-04-09', 'sagemaker_training_dag'], { env: elsewhere });
    expect(trig.code, trig.stderr).toBe(0);
    const rows = await waitFor(
      'train_task to succeed',
      async () => {
        const r = await h.run(['tasks', 'states-for-dag-run', 'sagemaker_training_dag', '2025-04-09', '--output', 'json'], { env: elsewhere });
        const parsed = JSON.parse(r.stdout) as Array<{ task_id: string; state: string | null }>;
        if (parsed[0]?.state === 'failed') throw new Error(`train_task failed; standalone output:\n${sa.output()}`);
        return parsed[0]?.state === 'success' ? parsed : null;
      },
      90_000,
    );
    expect(rows.map((r) => [r.task_id, r.state])).toEqual([['train_task', 'success']]);

    // tasks test: in-process, on a scratch copy of the stack's connections (its local AWS).
    const tt = await h.run(['tasks', 'test', 'sagemaker_training_dag', 'train_task', '2025-04-10'], { env: elsewhere, timeoutMs: 90_000 });
    expect(tt.code, tt.stdout + tt.stderr).toBe(0);
    expect(tt.stdout).toContain('Creating SageMaker training job my-training-job-2025-04-10');
    expect(tt.stdout).toContain('Task train_task: success');

    // The guide's way to check the config: rendered for the run, with the stack's variables.
    const rendered = await h.run(['tasks', 'render', 'sagemaker_training_dag', 'train_task', '2025-04-09', '--output', 'json'], { env: elsewhere });
    expect(rendered.code, rendered.stderr).toBe(0);
    expect((JSON.parse(rendered.stdout) as { fields: { config: Record<string, unknown> } }).fields.config).toMatchObject({
      TrainingJobName: 'my-training-job-2025-04-09',
      OutputDataConfig: { S3OutputPath: 's3://deferflow-demo/output/' },
    });
  });

  it("runs the README's connection set-up verbatim: `connections add aws_default` takes over the connection standalone made", async () => {
    const commands = readmeCommands('1. A connection for the SageMaker tasks');
    expect(commands.map((c) => c.slice(0, 2).join(' '))).toEqual(['connections add', 'variables set', 'variables set']);
    for (const args of commands) {
      const r = await h.run(args, { env: elsewhere });
      expect(r.code, `deferflow ${args.join(' ')}: ${r.stderr}`).toBe(0);
      if (args[0] === 'connections') expect(r.stdout).toContain('it replaced the one deferflow standalone had made for its local AWS');
    }
    const conn = await h.json<Record<string, unknown>>(['connections', 'get', 'aws_default'], { env: elsewhere });
    expect(conn).toMatchObject({ conn_type: 'aws', login: 'AKIA…', password: '***', description: null });
    expect(JSON.parse(String(conn.extra))).toEqual({ role_arn: 'arn:aws:iam::123456789012:role/deferflow', region_name: 'us-east-1' });
    // Now it is the user's: a second add is refused, naming the command that makes room.
    const again = await h.run(commands[0], { env: elsewhere });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('A connection with `conn_id`=aws_default already exists.');
    expect(again.stderr).toContain('`deferflow connections delete aws_default`');
  });

  it('stops on SIGTERM and removes its state file', async () => {
    expect(await sa.stop()).toBe(0);
    expect(existsSync(join(h.home, 'standalone.json'))).toBe(false);
    const after = await h.run(['dags', 'state', 'sagemaker_training_dag', '2025-04-09'], { env: elsewhere });
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('no `deferflow standalone` is running');
  });
});

describe('deferflow start --serve', { timeout: 180_000 }, () => {
  it('runs the pipeline, then keeps the UI up until SIGTERM', async () => {
    const p = h.start(['start', '--serve'], { env });
    const url = await waitFor('the UI URL', () => /\nUI: (http:\/\/\S+)/.exec(p.output())?.[1], 120_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${p.output()}`);
    });
    expect(p.output()).toMatch(/of sagemaker_pipeline: success/);
    const dags = (await (await fetch(`${url}/api/v1/dags`)).json()) as { dags: Array<{ dag_id: string }> };
    expect(dags.dags.map((d) => d.dag_id).sort()).toEqual(['sagemaker_pipeline', 'sagemaker_training_dag']);
    expect((await fetch(`${url}/`)).status).toBe(200);
    // While serving, other CLI invocations find it like a standalone.
    const runId = /Triggered sagemaker_pipeline run (\S+)/.exec(p.output())![1];
    const states = await h.run(['tasks', 'states-for-dag-run', 'sagemaker_pipeline', runId, '--output', 'json'], { env: elsewhere });
    expect(states.code, states.stderr).toBe(0);
    expect((JSON.parse(states.stdout) as Array<{ state: string }>).map((r) => r.state)).toEqual(['success', 'success', 'success', 'success', 'success']);
    expect(await p.stop()).toBe(0);
    expect(existsSync(join(h.home, 'standalone.json'))).toBe(false);
  });
});
