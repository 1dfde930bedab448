/**
 * The glue between commander and command implementations: `action(fn)` builds the CliContext from
 * the parsed global options, runs `fn` with positional arguments and options, and always closes
 * what the context opened (store, embedded servers).
 */
import type { Command } from 'commander';
import { type CliContext, createContext } from './context.ts';
import type { SettingKey } from '../config/settings.ts';
import { processWriter, type Writer } from './output/renderer.ts';

export type Opts = Record<string, unknown>;
export type ActionFn = (ctx: CliContext, args: Array<string | undefined>, opts: Opts) => Promise<void>;

/** The writer commands print through; tests of the program in-process swap it. */
let currentWriter: Writer = processWriter;
export function setWriter(w: Writer): void {
  currentWriter = w;
}

/**
 * Wrap a command implementation. `settingsFromOpts` maps the command's own flags onto settings
 * (e.g. `webserver --port` → webserverPort) so flags override env in one validated place.
 */
export function action(fn: ActionFn, settingsFromOpts?: (opts: Opts) => Partial<Record<SettingKey, string | number | undefined>>) {
  return async (...raw: unknown[]): Promise<void> => {
    const cmd = raw[raw.length - 1] as Command;
    const opts = cmd.optsWithGlobals() as Opts;
    // Positional arguments in declaration order; a missing optional one stays undefined.
    const args = raw.slice(0, -2) as Array<string | undefined>;
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
