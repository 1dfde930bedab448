/**
 * The glue between commander and command implementations. `action(load)` is what every command
 * registers: commander only learns the command's name, arguments and options (src/cli/program),
 * and the implementation — with the MongoDB driver, zod, the DAG loader, the AWS SDK, whatever it
 * needs — is imported when the command actually runs. That keeps `--version` and `--help` from
 * loading any of it (issue 11.3).
 *
 * At run time the wrapper builds the CliContext from the parsed global options, runs the
 * implementation with positional arguments and options, and always closes what the context opened
 * (store, embedded servers).
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import type { SettingKey } from '../config/settings.ts';
import { processWriter, type Writer } from './output/writer.ts';

export type Opts = Record<string, unknown>;
export type ActionFn = (ctx: CliContext, args: Array<string | undefined>, opts: Opts) => Promise<void>;
/** Imports a command's implementation (a dynamic `import()` of its module). */
export type ActionLoader = () => Promise<ActionFn>;
export type SettingsFromOpts = (opts: Opts) => Partial<Record<SettingKey, string | number | undefined>>;

/** The writer commands print through; tests of the program in-process swap it. */
let currentWriter: Writer = processWriter;
export function setWriter(w: Writer): void {
  currentWriter = w;
}

/**
 * Wrap a command implementation, imported only when the command runs. `settingsFromOpts` maps the
 * command's own flags onto settings (e.g. `webserver --port` → webserverPort) so flags override
 * env in one validated place.
 */
export function action(load: ActionLoader, settingsFromOpts?: SettingsFromOpts) {
  return async (...raw: unknown[]): Promise<void> => {
    const cmd = raw[raw.length - 1] as Command;
    const opts = cmd.optsWithGlobals() as Opts;
    // Positional arguments in declaration order; a missing optional one stays undefined.
    const args = raw.slice(0, -2) as Array<string | undefined>;
    const [{ createContext }, fn] = await Promise.all([import('./context.ts'), load()]);
    const ctx = createContext(opts as { output?: string }, { logFormat: opts.logFormat as string | undefined, ...settingsFromOpts?.(opts) }, currentWriter);
    try {
      await fn(ctx, args, opts);
    } finally {
      await ctx.close();
    }
  };
}

/** Resolve when the process gets SIGINT/SIGTERM (long-running commands wait on this). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
