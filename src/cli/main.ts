/**
 * The `deferflow` program: Airflow's CLI shape (`dags`, `tasks`, `variables`, `connections`, one
 * command per process kind) on commander. Every command accepts `--output table|json|plain`.
 *
 * Building the program loads only commander and the command declarations (src/cli/program):
 * each command's implementation — and with it the MongoDB driver, zod, the DAG loader, the AWS SDK,
 * fastify — is imported when that command runs, so `--version` and `--help` start about as fast
 * as Node itself (issue 11.3; test/cli/startup-imports.test.ts keeps it so). Nothing here connects
 * to MongoDB: commands open the store lazily.
 */
import { Command, CommanderError, Option } from 'commander';
import { OUTPUT_FORMATS, type OutputFormat } from './output/output-format.ts';
import { processWriter, type Writer } from './output/writer.ts';
import { setWriter } from './command-kit.ts';
import { EXIT_USAGE } from './exit-codes.ts';
import { registerAboutCommands } from './program/about.ts';
import { registerConnectionsCommands } from './program/connections.ts';
import { registerDagsCommands } from './program/dags.ts';
import { registerOperationsCommands } from './program/operations.ts';
import { registerProcessCommands } from './program/processes.ts';
import { registerTasksCommands } from './program/tasks.ts';
import { registerVariablesCommands } from './program/variables.ts';
import { deferflowVersion } from './package-version.ts';
import { LOG_FORMATS } from '../log/log-format.ts';

export function buildProgram(): Command {
  const program = new Command('deferflow')
    .description('Airflow-style DAGs whose SageMaker tasks defer to a triggerer instead of holding a worker')
    .version(deferflowVersion(), '-V, --version')
    .addOption(new Option('-o, --output <format>', 'output format').choices([...OUTPUT_FORMATS]).default('table'))
    .addOption(
      new Option('--log-format <format>', 'process log lines: pretty for people, json for machines (DEFERFLOW_LOG_FORMAT; default pretty)').choices([
        ...LOG_FORMATS,
      ]),
    )
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .exitOverride();

  registerProcessCommands(program);
  registerDagsCommands(program);
  registerTasksCommands(program);
  registerVariablesCommands(program);
  registerConnectionsCommands(program);
  registerOperationsCommands(program);
  registerAboutCommands(program);

  // Every subcommand reports usage errors through our handler (exit 2) instead of exiting itself.
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}

/** The --output given on the command line, for reporting errors that happen before parsing ends. */
function outputFromArgv(argv: string[]): OutputFormat {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = a === '-o' || a === '--output' ? argv[i + 1] : a.startsWith('--output=') ? a.slice(9) : undefined;
    if (v && (OUTPUT_FORMATS as readonly string[]).includes(v)) return v as OutputFormat;
  }
  return 'table';
}

/** Run the CLI; resolves with the exit code. */
export async function runCli(argv: string[], writer: Writer = processWriter): Promise<number> {
  setWriter(writer);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and --version end through here too, successfully; commander already printed its message.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
      // A command group without its subcommand printed its help: not a success, not a usage bug.
      if (e.code === 'commander.help') return e.exitCode;
      return EXIT_USAGE;
    }
    // Loaded only when something failed: it brings the error classes and the secret masker.
    const { reportError } = await import('./errors.ts');
    return reportError(writer, outputFromArgv(argv), e);
  }
}
