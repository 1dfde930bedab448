import type { CliContext } from '../context.ts';
import type { Opts } from '../command-kit.ts';
export async function runDagTest(_ctx: CliContext, _args: Array<string | undefined>, _opts: Opts): Promise<void> {
  throw new Error('dags test: pending the runtime');
}
