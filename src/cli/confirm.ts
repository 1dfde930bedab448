/**
 * Asking before a destructive command (`tasks clear`, `dags delete`), as Airflow's CLI does:
 * `--yes` skips the question; without a terminal to ask on, the command refuses rather than
 * guess, and says to pass --yes.
 */
import { createInterface } from 'node:readline/promises';
import { DeferflowError } from '../errors/deferflow-error.ts';

/** True when the user answered yes (or passed --yes). */
export async function confirmOrYes(opts: { yes?: unknown }, question: string, refusal: { what: string; hint: string }): Promise<boolean> {
  if (opts.yes) return true;
  if (!process.stdin.isTTY) throw new DeferflowError('INVALID_INPUT', `${refusal.what}, but there is no terminal to confirm on`, { hint: refusal.hint });
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
