/**
 * The README tells the truth: every `deferflow …` command it shows is run by some test, the IAM
 * table is `requiredIamPermissions()`, and the "Writing a DAG" example imports and runs.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requiredIamPermissions } from '../../src/providers/aws/setup-events.ts';
import { createCliHarness, ROOT, type CliHarness } from '../cli/cli-harness.ts';
import { NO_AWS_ENV } from './e2e-env.ts';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** Fenced blocks of one language. */
function blocks(lang: string): string[] {
  return [...README.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
}

/** `deferflow dags trigger -e …` → ['dags', 'trigger']: the command words before any argument. */
function commandWords(line: string): string[] {
  const words = line.replace(/^.*?\bdeferflow\s+/, '').split(/\s+/);
  const out: string[] = [];
  for (const w of words) {
    if (!/^[a-z][a-z-]*$/.test(w)) break;
    out.push(w);
    // Groups have one subcommand level; process commands have none.
    if (out.length === 2 || !['dags', 'tasks', 'variables', 'connections', 'db', 'triggers', 'aws'].includes(out[0])) break;
  }
  return out;
}

function testSources(dir: string): string {
  let text = '';
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) text += testSources(p);
    else if (name.endsWith('.test.ts')) text += readFileSync(p, 'utf8');
  }
  return text;
}

describe('README', () => {
  it('shows only commands that some test runs', () => {
    const tests = testSources(join(ROOT, 'test'));
    const commands = new Set<string>();
    for (const b of blocks('bash')) {
      for (const raw of b.split('\n')) {
        const line = raw.replace(/\s#.*$/, '').trim();
        if (!/(^|\s)deferflow\s/.test(line)) continue;
        // `deferflow variables set … | get KEY … | list`: alternatives of the same group.
        const [first, ...alternatives] = line.split(/\s\|\s/);
        const words = commandWords(first);
        if (words.length) commands.add(words.join(' '));
        for (const alt of alternatives) {
          const more = commandWords(`deferflow ${words[0]} ${alt.trim()}`);
          if (more.length === 2) commands.add(more.join(' '));
        }
      }
    }
    expect(commands.size).toBeGreaterThan(20);
    if (process.env.SHOW_README_COMMANDS) console.log([...commands].sort().join('\n'));
    const untested = [...commands].filter(
      (c) =>
        !tests.includes(
          `[${c
            .split(' ')
            .map((w) => `'${w}'`)
            .join(', ')}`,
        ),
    );
    expect(untested, 'README commands no test runs').toEqual([]);
  });

  it('lists exactly the IAM permissions deferflow uses', () => {
    const rows = [...README.matchAll(/^\| `([a-z0-9]+:[A-Za-z]+)` \| (.+) \|$/gm)].map((m) => ({ action: m[1], why: m[2] }));
    expect(rows).toEqual(requiredIamPermissions());
  });
});

describe('README: Writing a DAG', { timeout: 120_000 }, () => {
  let h: CliHarness;
  const folder = join(ROOT, `.scratch-readme-${randomBytes(4).toString('hex')}`);
  beforeAll(async () => {
    h = await createCliHarness('readme');
    // Inside the package, so `import … from 'deferflow'` resolves as in a user's project.
    mkdirSync(folder, { recursive: true });
    const example = blocks('ts').find((b) => b.includes("dagId: 'nightly_knn'"));
    if (!example) throw new Error('the README has no nightly_knn example');
    writeFileSync(join(folder, 'nightly_knn.ts'), example);
  });
  afterAll(async () => {
    rmSync(folder, { recursive: true, force: true });
    await h?.close();
  });

  it('imports, and `dags test` trains it on a local AWS', async () => {
    const env = { ...NO_AWS_ENV, DEFERFLOW_DAGS_FOLDER: folder };
    const errors = await h.run(['dags', 'list-import-errors'], { env });
    expect(errors.code, errors.stdout + errors.stderr).toBe(0);
    const list = await h.json<Array<{ dag_id: string }>>(['dags', 'list'], { env });
    expect(list.map((d) => d.dag_id)).toEqual(['nightly_knn']);
    const run = await h.run(['dags', 'test', 'nightly_knn', '2025-04-09'], { env, timeoutMs: 90_000 });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/train: running → deferred/);
    expect(run.stdout).toContain('DAG run manual__2025-04-09T00:00:00+00:00 of nightly_knn: success');
  });
});
