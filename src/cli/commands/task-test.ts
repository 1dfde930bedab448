import type { CliContext } from '../context.ts';
import type { Opts } from '../command-kit.ts';
export async function runTaskTest(_ctx: CliContext, _args: Array<string | undefined>, _opts: Opts): Promise<void> {
  throw new Error('tasks test: pending the worker');
}
