/** `deferflow version` and `deferflow info` (Airflow's), as commander sees them. */
import type { Command } from 'commander';
import { action } from '../command-kit.ts';

export function registerAboutCommands(program: Command): void {
  program
    .command('version')
    .description('Print the deferflow version')
    .action(action(async () => (await import('../commands/about.ts')).printVersion));
  program
    .command('info')
    .description('Show versions, paths, settings (secrets masked) and the process layout, for bug reports')
    .action(action(async () => (await import('../commands/about.ts')).printInfo));
}
