/**
 * Airflow's own Python client for the compatibility test: `apache-airflow-client` (the last 2.x,
 * for Airflow 2's stable REST API v1) from PyPI, in a venv under ~/.cache/deferflow made once by
 * this set-up (or by .ci/run beforehand, which exports DEFERFLOW_AIRFLOW_CLIENT_PYTHON).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const AIRFLOW_CLIENT_VERSION = '2.10.0';
export const VENV = join(homedir(), '.cache', 'deferflow', `airflow-client-${AIRFLOW_CLIENT_VERSION}`);

async function importable(python: string): Promise<boolean> {
  if (!existsSync(python)) return false;
  try {
    await run(python, ['-c', 'import airflow_client.client']);
    return true;
  } catch {
    return false;
  }
}

/** The venv's python with the client importable; throws with pip's output when it cannot be installed. */
export async function airflowClientPython(): Promise<string> {
  const given = process.env.DEFERFLOW_AIRFLOW_CLIENT_PYTHON;
  if (given && (await importable(given))) return given;
  const python = join(VENV, 'bin', 'python');
  if (await importable(python)) return python;
  await run('python3', ['-m', 'venv', VENV], { timeout: 120_000 });
  try {
    await run(join(VENV, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `apache-airflow-client==${AIRFLOW_CLIENT_VERSION}`], {
      timeout: 300_000,
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`Could not install apache-airflow-client==${AIRFLOW_CLIENT_VERSION} into ${VENV}: ${err.stderr || err.message}`);
  }
  if (!(await importable(python))) throw new Error(`apache-airflow-client installed into ${VENV} but cannot be imported`);
  return python;
}
