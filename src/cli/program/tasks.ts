/**
 * `deferflow tasks …` as commander sees it (Airflow 2's names, arguments and options); the
 * implementations are imported only when a command runs.
 */
import type { Command } from 'commander';
import { action } from '../command-kit.ts';

const tasks = () => import('../commands/tasks.ts');

export function registerTasksCommands(program: Command): void {
  const g = program.command('tasks').description('Manage task instances');
  g.command('list')
    .description('List the tasks of a DAG, in DAG order')
    .argument('<dag_id>', 'the DAG id')
    .option('-t, --tree', 'show the tasks as a tree of downstreams')
    .action(action(async () => (await tasks()).listTasks));
  g.command('states-for-dag-run')
    .description('Print the state of every task instance of a DAG run')
    .argument('<dag_id>', 'the DAG id')
    .argument('<execution_date_or_run_id>', 'run id or logical date')
    .action(action(async () => (await tasks()).statesForDagRun));
  g.command('state')
    .description('Print the state of a task instance')
    .argument('<dag_id>', 'the DAG id')
    .argument('<task_id>', 'the task id')
    .argument('<execution_date_or_run_id>', 'run id or logical date')
    .action(action(async () => (await tasks()).taskState));
  g.command('logs')
    .description("Print a task instance's log")
    .argument('<dag_id>', 'the DAG id')
    .argument('<execution_date_or_run_id>', 'run id or logical date')
    .argument('<task_id>', 'the task id')
    .option('--try <n>', 'try number (default: the latest)')
    .option('-f, --follow', 'keep printing new lines until the try ends')
    .action(action(async () => (await import('../commands/task-logs.ts')).taskLogs));
  g.command('render')
    .description("Print a task's template fields rendered for a run (or a logical date), as its worker would render them — nothing runs, nothing is written")
    .argument('<dag_id>', 'the DAG id')
    .argument('<task_id>', 'the task id')
    .argument('<execution_date_or_run_id>', 'run id, or a logical date (2025-04-09 or ISO 8601)')
    .action(action(async () => (await import('../commands/task-render.ts')).renderTask));
  g.command('clear')
    .description('Clear task instances so they run again')
    .argument('<dag_id>', 'the DAG id')
    .option('-t, --task-regex <regex>', 'only tasks whose id matches')
    .option('-s, --start-date <date>', 'only runs with a logical date from this one')
    .option('-e, --end-date <date>', 'only runs with a logical date up to this one')
    .option('-f, --only-failed', 'only failed and upstream_failed task instances')
    .option('-r, --only-running', 'only running task instances')
    .option('-d, --downstream', 'also clear the downstream tasks of the matched ones')
    .option('-u, --upstream', 'also clear the upstream tasks of the matched ones')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(action(async () => (await import('../commands/task-clear.ts')).clearTasks));
  g.command('test')
    .description('Run one task instance in this process, ignoring dependencies and without changing other tasks; prints its log and return value')
    .argument('<dag_id>', 'the DAG id')
    .argument('<task_id>', 'the task id')
    .argument('[execution_date_or_run_id]', 'logical date or run id; default now')
    .option('-t, --task-params <json>', 'params for the task as a JSON object (override DAG params)')
    .action(action(async () => (await import('../commands/task-test.ts')).runTaskTest));
}
