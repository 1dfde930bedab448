/**
 * `deferflow dags …` as commander sees it: Airflow 2's names, arguments and options. The
 * implementations (src/cli/commands/dags*.ts) are imported only when a command runs.
 */
import type { Command } from 'commander';
import { action } from '../command-kit.ts';

const dags = () => import('../commands/dags.ts');
const dagRuns = () => import('../commands/dag-runs.ts');

export function registerDagsCommands(program: Command): void {
  const g = program.command('dags').description('Manage DAGs');
  g.command('list')
    .description('List the DAGs in the DAGs folder')
    .action(action(async () => (await dags()).listDags));
  g.command('list-import-errors')
    .description('List DAG files that failed to import (exit 1 when any)')
    .action(action(async () => (await dags()).listImportErrors));
  g.command('list-runs')
    .description('List the runs of a DAG, newest logical date first')
    .argument('[dag_id]', 'the DAG id (same as -d)')
    .option('-d, --dag-id <dag_id>', 'the DAG whose runs to list (required)')
    .option('--state <state>', 'only runs in this state: queued, running, success or failed')
    .option('-s, --start-date <date>', 'only runs with a logical date from this one (2025-04-09 or ISO 8601)')
    .option('-e, --end-date <date>', 'only runs with a logical date up to this one')
    .option('--no-backfill', 'leave out backfill runs')
    .action(action(async () => (await dagRuns()).listDagRuns));
  g.command('details')
    .description("Show a DAG's details as the DAG processor recorded them")
    .argument('<dag_id>', 'the DAG id')
    .action(action(async () => (await dags()).dagDetails));
  g.command('delete')
    .description('Delete a DAG and everything recorded about it (runs, task instances, XComs, logs, triggers, versions)')
    .argument('<dag_id>', 'the DAG id')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(action(async () => (await dags()).deleteDagCommand));
  g.command('next-execution')
    .description('Print the logical dates of the next scheduled runs')
    .argument('<dag_id>', 'the DAG id')
    .option('-n, --num-executions <n>', 'how many to print', '1')
    .action(action(async () => (await dags()).nextExecution));
  g.command('trigger')
    .description('Trigger a DAG run')
    .argument('<dag_id>', 'the DAG id')
    .option('-e, --exec-date <date>', 'logical date of the run (2025-04-09 or ISO 8601); default now')
    .option('-c, --conf <json>', 'run conf as a JSON object, e.g. \'{"key": "value"}\'')
    .option('-r, --run-id <run_id>', 'run id; default manual__<logical date>')
    .action(action(async () => (await dagRuns()).triggerDag));
  g.command('test')
    .description('Run one DAG run to completion in this process (scheduler, worker and triggerer here), showing task states live')
    .argument('<dag_id>', 'the DAG id')
    .argument('[execution_date]', 'logical date (2025-04-09 or ISO 8601); default now')
    .option('-c, --conf <json>', 'run conf as a JSON object')
    .option('--timeout <seconds>', 'give up after this many seconds', '3600')
    .action(action(async () => (await import('../commands/dag-test.ts')).runDagTest));
  g.command('pause')
    .description('Pause a DAG')
    .argument('<dag_id>', 'the DAG id')
    .action(action(async () => (await dags()).pauseDag));
  g.command('unpause')
    .description('Resume a paused DAG')
    .argument('<dag_id>', 'the DAG id')
    .action(action(async () => (await dags()).unpauseDag));
  g.command('state')
    .description('Print the state of the DAG run at a logical date')
    .argument('<dag_id>', 'the DAG id')
    .argument('<execution_date>', 'logical date or run id')
    .action(action(async () => (await dagRuns()).dagState));
  g.command('show')
    .description('Print the DAG as Graphviz DOT (json: tasks and edges)')
    .argument('<dag_id>', 'the DAG id')
    .action(action(async () => (await dags()).showDag));
}
