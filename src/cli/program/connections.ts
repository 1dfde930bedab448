/** `deferflow connections …` as commander sees it (Airflow's flags); implementations load on use. */
import type { Command } from 'commander';
import { action } from '../command-kit.ts';

const connections = () => import('../commands/connections.ts');
const transfer = () => import('../commands/connections-transfer.ts');

export function registerConnectionsCommands(program: Command): void {
  const g = program.command('connections').description('Manage connections (credentials and endpoints operators use by conn_id)');
  g.command('add')
    .description('Add a connection (fails when the id exists, except one `deferflow standalone` made for its local AWS, which is replaced)')
    .argument('<conn_id>', 'connection id')
    .option('--conn-uri <uri>', 'the whole connection as a URI, e.g. aws://KEY:SECRET@/?region_name=us-east-1')
    .option('--conn-type <type>', 'connection type (aws, http, postgres, …)')
    .option('--conn-host <host>', 'host')
    .option('--conn-login <login>', 'login')
    .option('--conn-password <password>', 'password (stored encrypted, never printed)')
    .option('--conn-schema <schema>', 'schema')
    .option('--conn-port <port>', 'port')
    .option('--conn-extra <json>', 'extra fields as a JSON object')
    .option('--conn-description <text>', 'description')
    .action(action(async () => (await connections()).addConnection));
  g.command('get')
    .description('Show a connection (secrets masked)')
    .argument('<conn_id>', 'connection id')
    .action(action(async () => (await connections()).getConnection));
  g.command('list')
    .description('List connections (secrets masked)')
    .option('--conn-id <conn_id>', 'only this connection')
    .action(action(async () => (await connections()).listConnections));
  g.command('delete')
    .description('Delete a connection')
    .argument('<conn_id>', 'connection id')
    .action(action(async () => (await connections()).deleteConnection));
  g.command('import')
    .description("Import connections from a .json, .yaml/.yml or .env file (Airflow's formats); existing ids are skipped unless --overwrite")
    .argument('<filepath>', 'the file to read')
    .option('--overwrite', 'replace connections that already exist')
    .action(action(async () => (await transfer()).importConnections));
  g.command('export')
    .description("Export every stored connection, secrets in clear, to a file (- for stdout) in Airflow's json, yaml or env format")
    .argument('<filepath>', 'the file to write (.json, .yaml, .yml, .env), or - for stdout')
    .option('--file-format <format>', 'json, yaml or env (default: from the file extension; json for -)')
    .option('--format <format>', "same as --file-format (Airflow's older name)")
    .option('--serialization-format <format>', 'env files only: each connection as a uri (default) or as json')
    .action(action(async () => (await transfer()).exportConnections));
}
