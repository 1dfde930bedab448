/** `deferflow variables …` as commander sees it (Airflow's flags); implementations load on use. */
import { type Command, Option } from 'commander';
import { action } from '../command-kit.ts';

export const ON_EXISTING_KEY = ['overwrite', 'fail', 'skip'] as const;

const variables = () => import('../commands/variables.ts');

export function registerVariablesCommands(program: Command): void {
  const g = program.command('variables').description('Manage variables (global key/value settings DAGs read as var.value.KEY)');
  g.command('get')
    .description('Print a variable')
    .argument('<key>', 'variable key')
    .option('-j, --json', 'deserialize the value as JSON')
    .option('-d, --default <value>', 'print this when the variable does not exist')
    .action(action(async () => (await variables()).getVariable));
  g.command('set')
    .description('Set a variable (an existing description is kept unless --description is given)')
    .argument('<key>', 'variable key')
    .argument('<value>', 'variable value')
    .option('-j, --json', 'VALUE is JSON: validate it and store its JSON form')
    .option('--description <text>', 'what the variable is for ("" removes it)')
    .action(action(async () => (await variables()).setVariable));
  g.command('list')
    .description('List variable keys')
    .action(action(async () => (await variables()).listVariables));
  g.command('delete')
    .description('Delete a variable')
    .argument('<key>', 'variable key')
    .action(action(async () => (await variables()).deleteVariable));
  g.command('import')
    .description('Import variables from a JSON file ({"key": value, ...})')
    .argument('<filepath>', 'JSON file')
    .addOption(
      new Option('-a, --action-on-existing-key <action>', 'what to do with keys that already exist').choices([...ON_EXISTING_KEY]).default('overwrite'),
    )
    .action(action(async () => (await variables()).importVariables));
  g.command('export')
    .description('Export all variables to a JSON file (- for stdout)')
    .argument('<filepath>', 'JSON file, or - for stdout')
    .action(action(async () => (await variables()).exportVariables));
}
