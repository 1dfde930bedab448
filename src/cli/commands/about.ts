/**
 * `deferflow version` and `deferflow info` (Airflow's): the version alone, and what a bug report
 * needs — versions, paths, every setting (secrets masked: a URI's password, the API token, the
 * secret key are never printed) and the process layout (which processes this deployment runs
 * where, and which ones the database has heard from lately).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { redactMongoUri, SETTINGS_ENV, wantsLocalAws, type SettingKey } from '../../config/settings.ts';
import { SECRET_KEY_ENV } from '../../connections/secret-key.ts';
import { liveJobCounts } from '../../app/queries/process-queries.ts';
import { databaseName } from '../../app/queries/database-info.ts';
import { errorMessage } from '../../errors/deferflow-error.ts';
import type { CliContext } from '../context.ts';
import { readStandaloneState } from '../../standalone/standalone-state-file.ts';
import { deferflowVersion } from '../package-version.ts';
import { printMessage, renderPlain, renderTable } from '../output/renderer.ts';

export async function printVersion(ctx: CliContext): Promise<void> {
  printMessage(ctx.writer, ctx.format, deferflowVersion(), { version: deferflowVersion() });
}

type Section = Record<string, string | number | boolean | null>;

/** A process whose heartbeat is older than this is not counted as live. */
const LIVE_WITHIN_MS = 60_000;

export async function printInfo(ctx: CliContext): Promise<void> {
  const s = ctx.settings;
  const standalone = readStandaloneState(s.home);
  const local = wantsLocalAws(s);
  // Through the package's self-reference: right from src/ and from dist/ alike.
  const packageDir = dirname(createRequire(import.meta.url).resolve('deferflow/package.json'));

  const deferflow: Section = {
    version: deferflowVersion(),
    node_version: process.version,
    dags_folder: s.dagsFolder,
    home: s.home,
    database: s.mongoUri ? redactMongoUri(s.mongoUri) : standalone ? `${redactMongoUri(standalone.mongoUri)} (the running standalone's)` : 'not configured',
    aws: local
      ? `local AWS (DEFERFLOW_LOCAL_AWS=${s.localAws.mode}: no AWS endpoint or credentials in the environment)`
      : `real AWS, or the endpoint the environment names (DEFERFLOW_LOCAL_AWS=${s.localAws.mode})`,
    events_queue_url: process.env.DEFERFLOW_EVENTS_QUEUE_URL || (local ? "the local AWS's own queue" : 'none: reconcile sweeps find finished jobs'),
    secret_key: process.env[SECRET_KEY_ENV]
      ? `*** (from ${SECRET_KEY_ENV})`
      : existsSync(join(s.home, 'secret.key'))
        ? `*** (in ${join(s.home, 'secret.key')})`
        : `not created yet (made in ${join(s.home, 'secret.key')} on first use)`,
  };

  const system: Section = {
    os: `${platform()} ${release()}`,
    architecture: arch(),
    cpus: cpus().length,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    locale: Intl.DateTimeFormat().resolvedOptions().locale,
    node_location: process.execPath,
  };

  const onPath = (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, 'deferflow')));
  const paths: Section = {
    deferflow_home: s.home,
    package_dir: packageDir,
    executable: process.argv[1] ?? null,
    deferflow_on_path: onPath,
    local_aws_data_dir: s.localAws.dataDir,
  };

  const settings: Section = {};
  const effective: Record<SettingKey, string | number | boolean | null> = {
    mongoUri: s.mongoUri ? redactMongoUri(s.mongoUri) : null,
    home: s.home,
    dagsFolder: s.dagsFolder,
    logLevel: s.logLevel,
    logFormat: s.logFormat,
    webserverHost: s.webserver.host,
    webserverPort: s.webserver.port,
    apiAuthToken: s.webserver.authToken ? '***' : null,
    localAws: s.localAws.mode,
    localAwsPort: s.localAws.port,
    localAwsDataDir: s.localAws.dataDir,
    triggererCapacity: s.triggererCapacity,
    workerSlots: s.workerSlots,
    dagbagImportTimeout: s.dagProcessing.importTimeoutMs / 1000,
    dagDirListInterval: s.dagProcessing.dirListIntervalMs / 1000,
    minFileProcessInterval: s.dagProcessing.minFileProcessIntervalMs / 1000,
    parsingProcesses: s.dagProcessing.parsingProcesses,
    standaloneDagProcessor: s.dagProcessing.standaloneProcessor,
    metricsHost: s.metrics.host,
    metricsPort: s.metrics.port,
  };
  for (const [key, env] of Object.entries(SETTINGS_ENV) as Array<[SettingKey, string]>) {
    const value = effective[key];
    settings[env] = `${value === null ? '(not set)' : value}${process.env[env] !== undefined ? '' : ' (default)'}`;
  }
  settings[SECRET_KEY_ENV] = process.env[SECRET_KEY_ENV] ? '***' : '(not set)';
  settings.DEFERFLOW_EVENTS_QUEUE_URL = process.env.DEFERFLOW_EVENTS_QUEUE_URL ?? '(not set)';

  const layout: Section = {
    standalone: standalone
      ? `running (pid ${standalone.pid}${standalone.webserverUrl ? `, ${standalone.webserverUrl}` : ''}, since ${standalone.startedAt})`
      : 'not running',
    dag_processor: s.dagProcessing.standaloneProcessor
      ? 'its own process (`deferflow dag-processor`); schedulers parse nothing'
      : 'inside every scheduler (and standalone)',
    worker_slots: s.workerSlots,
    triggerer_capacity: s.triggererCapacity,
    webserver: `${s.webserver.host}:${s.webserver.port}${s.webserver.authToken ? ' (API token required)' : ''}`,
    ...(await liveProcesses(ctx)),
  };

  const sections: Array<[string, string, Section]> = [
    ['deferflow', 'deferflow', deferflow],
    ['system', 'System info', system],
    ['paths', 'Paths info', paths],
    ['settings', 'Settings', settings],
    ['process_layout', 'Process layout', layout],
    [
      'providers',
      'Providers info',
      { 'deferflow/aws': `${deferflowVersion()} (built in: SageMaker operators, sensors and job trigger, S3 hook, EventBridge → SQS events)` },
    ],
  ];
  if (ctx.format === 'json') {
    ctx.writer.out(JSON.stringify(Object.fromEntries(sections.map(([key, , sec]) => [key, sec])), null, 2));
    return;
  }
  const out: string[] = [];
  for (const [, title, sec] of sections) {
    out.push(title);
    const rows = Object.entries(sec).map(([key, value]) => ({ key, value }));
    const columns = [{ key: 'key' }, { key: 'value' }];
    out.push(ctx.format === 'plain' ? renderPlain(rows, columns) : renderTable(rows, columns, false));
    out.push('');
  }
  ctx.writer.out(out.join('\n'));
}

/** Live processes by kind, from their heartbeats; the database may be absent or down: say so. */
async function liveProcesses(ctx: CliContext): Promise<Section> {
  let uri: string;
  try {
    uri = ctx.mongoUri();
  } catch {
    return { live_processes: 'unknown: no database configured (MONGODB_URI unset, no standalone running)' };
  }
  try {
    const store = await ctx.store();
    const counts = await liveJobCounts(store, LIVE_WITHIN_MS);
    const byKind = new Map(counts.map((c) => [c.jobType, c.n]));
    const kinds: Array<[string, string]> = [
      ['SchedulerJob', 'schedulers'],
      ['WorkerJob', 'workers'],
      ['TriggererJob', 'triggerers'],
      ['WebserverJob', 'webservers'],
    ];
    return {
      database_name: databaseName(store),
      ...Object.fromEntries(kinds.map(([type, name]) => [`live_${name}`, byKind.get(type) ?? 0])),
    };
  } catch (e) {
    return { live_processes: `unknown: database ${redactMongoUri(uri)} unreachable (${errorMessage(e).split('\n')[0]})` };
  }
}
