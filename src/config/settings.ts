/**
 * Process settings: environment variables first, command-line flags over them, every value checked
 * with zod so a typo fails at start with a message naming the variable and what it accepts —
 * not minutes later inside a loop.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { InvalidInputError } from '../errors/invalid-input-error.ts';
import { LOG_FORMATS, type LogFormat } from '../log/log-format.ts';
import { DEFAULTS } from './defaults.ts';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How the local (embedded) AWS is chosen: auto = when no AWS endpoint or credentials are configured. */
export const LOCAL_AWS_MODES = ['auto', 'always', 'never'] as const;

const port = (what: string) =>
  z.coerce
    .number({ error: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .min(0, `${what} must be between 0 and 65535`)
    .max(65535, `${what} must be between 0 and 65535`);

const positiveInt = (what: string) =>
  z.coerce
    .number({ error: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .min(1, `${what} must be at least 1`);

/** Seconds as users write them (fractions allowed), > 0. */
const positiveSeconds = (what: string) =>
  z.coerce
    .number({ error: `${what} must be a number of seconds` })
    .positive(`${what} must be more than 0 seconds`)
    .finite(`${what} must be finite`);

const booleanFlag = (what: string) =>
  z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: `${what} must be true or false` }).transform((v) => v === 'true' || v === '1' || v === 'yes');

const optionalString = z
  .string()
  .optional()
  .transform((s) => (s === undefined || s.trim() === '' ? undefined : s.trim()));

/** Env var → setting. Kept as a table so `describeSettings()` documents exactly what is read. */
export const SETTINGS_ENV = {
  mongoUri: 'MONGODB_URI',
  home: 'DEFERFLOW_HOME',
  dagsFolder: 'DEFERFLOW_DAGS_FOLDER',
  logLevel: 'DEFERFLOW_LOG_LEVEL',
  logFormat: 'DEFERFLOW_LOG_FORMAT',
  webserverHost: 'DEFERFLOW_WEBSERVER_HOST',
  webserverPort: 'DEFERFLOW_WEBSERVER_PORT',
  apiAuthToken: 'DEFERFLOW_API_TOKEN',
  localAws: 'DEFERFLOW_LOCAL_AWS',
  localAwsPort: 'DEFERFLOW_LOCAL_AWS_PORT',
  localAwsDataDir: 'DEFERFLOW_LOCAL_AWS_DATA_DIR',
  triggererCapacity: 'DEFERFLOW_TRIGGERER_CAPACITY',
  workerSlots: 'DEFERFLOW_WORKER_SLOTS',
  dagbagImportTimeout: 'DEFERFLOW_DAGBAG_IMPORT_TIMEOUT',
  dagDirListInterval: 'DEFERFLOW_DAG_DIR_LIST_INTERVAL',
  minFileProcessInterval: 'DEFERFLOW_MIN_FILE_PROCESS_INTERVAL',
  parsingProcesses: 'DEFERFLOW_DAG_PARSING_PROCESSES',
  standaloneDagProcessor: 'DEFERFLOW_STANDALONE_DAG_PROCESSOR',
  metricsHost: 'DEFERFLOW_METRICS_HOST',
  metricsPort: 'DEFERFLOW_METRICS_PORT',
} as const;

export type SettingKey = keyof typeof SETTINGS_ENV;

/** The command-line flag that overrides each setting (named in validation errors). */
export const SETTINGS_FLAG: Partial<Record<SettingKey, string>> = {
  webserverHost: '--host',
  webserverPort: '--port',
  localAwsPort: '--port',
  localAwsDataDir: '--data-dir',
  triggererCapacity: '--capacity',
  workerSlots: '--slots',
  metricsPort: '--metrics-port',
  logLevel: '--log-level',
  logFormat: '--log-format',
};

const rawSchema = z.object({
  mongoUri: optionalString.refine((u) => u === undefined || /^mongodb(\+srv)?:\/\/\S+$/.test(u), {
    message: 'must be a MongoDB connection string such as mongodb://127.0.0.1:27017/deferflow',
  }),
  home: optionalString,
  dagsFolder: optionalString,
  logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).optional(),
  logFormat: z.enum(LOG_FORMATS, { error: `must be one of ${LOG_FORMATS.join(', ')}` }).optional(),
  webserverHost: optionalString,
  webserverPort: port('the webserver port').optional(),
  apiAuthToken: optionalString,
  localAws: z.enum(LOCAL_AWS_MODES, { error: `must be one of ${LOCAL_AWS_MODES.join(', ')}` }).optional(),
  localAwsPort: port('the local AWS port').optional(),
  localAwsDataDir: optionalString,
  triggererCapacity: positiveInt('the triggerer capacity').optional(),
  workerSlots: positiveInt('the worker slot count').optional(),
  dagbagImportTimeout: positiveSeconds('the DAG file import timeout').optional(),
  dagDirListInterval: positiveSeconds('the DAG folder rescan interval').optional(),
  minFileProcessInterval: positiveSeconds('the DAG file re-parse interval').optional(),
  parsingProcesses: positiveInt('the number of DAG parsing processes').optional(),
  standaloneDagProcessor: booleanFlag('DEFERFLOW_STANDALONE_DAG_PROCESSOR').optional(),
  metricsHost: optionalString,
  metricsPort: port('the metrics port').optional(),
});

export type SettingsInput = z.input<typeof rawSchema>;

export interface Settings {
  /** undefined: no MongoDB configured (commands that can, run on an embedded one). */
  mongoUri: string | undefined;
  /** Where deferflow keeps its own files (secret key, local AWS data, standalone state). */
  home: string;
  dagsFolder: string;
  logLevel: LogLevel;
  /** Process logs: `pretty` human lines, or `json` lines for machines. */
  logFormat: LogFormat;
  webserver: { host: string; port: number; authToken: string | undefined };
  localAws: { mode: (typeof LOCAL_AWS_MODES)[number]; port: number; dataDir: string };
  triggererCapacity: number;
  workerSlots: number;
  dagProcessing: DagProcessingSettings;
  /**
   * Where `scheduler`, `worker` and `triggerer` serve /metrics and /health: off unless a port is
   * given (0 = any free port; the address is printed at start).
   */
  metrics: { host: string; port: number | null };
}

/** The DAG processor's knobs (Airflow's [core] / [scheduler] / [dag_processor] names in comments). */
export interface DagProcessingSettings {
  /** dagbag_import_timeout: one DAG file's import, in a child process. */
  importTimeoutMs: number;
  /** dag_dir_list_interval: full rescan of the folder (new, changed and deleted files). */
  dirListIntervalMs: number;
  /** min_file_process_interval: unchanged files are re-parsed this often (dynamic DAGs). */
  minFileProcessIntervalMs: number;
  /** parsing_processes: child processes importing at once. */
  parsingProcesses: number;
  /** standalone_dag_processor: true = `scheduler` runs none (run `deferflow dag-processor`). */
  standaloneProcessor: boolean;
}

function absolute(p: string, cwd: string): string {
  const expanded = p === '~' ? homedir() : p.startsWith('~/') ? join(homedir(), p.slice(2)) : p;
  return isAbsolute(expanded) ? expanded : resolve(cwd, expanded);
}

function readEnv(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [key, name] of Object.entries(SETTINGS_ENV)) out[key] = env[name];
  return out;
}

/**
 * Resolve settings from `env` with `overrides` (flags) on top. Throws InvalidInputError whose
 * issues name the env variable (or flag) and what it accepts.
 */
export function loadSettings(
  overrides: Partial<Record<SettingKey, string | number | undefined>> = {},
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): Settings {
  const fromEnv = readEnv(env);
  const merged: Record<string, unknown> = { ...fromEnv };
  const flagged = new Set<string>();
  for (const [k, v] of Object.entries(overrides)) {
    if (v !== undefined) {
      merged[k] = v;
      flagged.add(k);
    }
  }
  const parsed = rawSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => {
      const key = String(i.path[0] ?? '') as SettingKey;
      const where = flagged.has(key) ? (SETTINGS_FLAG[key] ?? `--${kebab(key)}`) : (SETTINGS_ENV[key] ?? key);
      return { path: where, message: i.message };
    });
    throw new InvalidInputError('Invalid settings', issues);
  }
  const s = parsed.data;
  const home = absolute(s.home ?? join(homedir(), '.deferflow'), cwd);
  return {
    mongoUri: s.mongoUri,
    home,
    dagsFolder: absolute(s.dagsFolder ?? DEFAULTS.dagsFolder, cwd),
    logLevel: s.logLevel ?? DEFAULTS.logLevel,
    logFormat: s.logFormat ?? DEFAULTS.logFormat,
    webserver: {
      host: s.webserverHost ?? DEFAULTS.webserverHost,
      port: s.webserverPort ?? DEFAULTS.webserverPort,
      authToken: s.apiAuthToken,
    },
    localAws: {
      mode: s.localAws ?? DEFAULTS.localAws,
      port: s.localAwsPort ?? DEFAULTS.localAwsPort,
      dataDir: absolute(s.localAwsDataDir ?? join(home, 'local-aws'), cwd),
    },
    triggererCapacity: s.triggererCapacity ?? DEFAULTS.triggererCapacity,
    workerSlots: s.workerSlots ?? DEFAULTS.workerSlots,
    dagProcessing: {
      importTimeoutMs: Math.round((s.dagbagImportTimeout ?? DEFAULTS.dagbagImportTimeoutS) * 1000),
      dirListIntervalMs: Math.round((s.dagDirListInterval ?? DEFAULTS.dagDirListIntervalS) * 1000),
      minFileProcessIntervalMs: Math.round((s.minFileProcessInterval ?? DEFAULTS.minFileProcessIntervalS) * 1000),
      parsingProcesses: s.parsingProcesses ?? DEFAULTS.parsingProcesses,
      standaloneProcessor: s.standaloneDagProcessor ?? DEFAULTS.standaloneDagProcessor,
    },
    metrics: { host: s.metricsHost ?? DEFAULTS.webserverHost, port: s.metricsPort ?? null },
  };
}

/**
 * Whether the embedded local AWS should serve this process: `auto` uses it unless the
 * environment points the SDK at an endpoint or carries credentials (then real AWS, or the
 * user's own emulator, is meant).
 */
export function wantsLocalAws(settings: Settings, env: NodeJS.ProcessEnv = process.env): boolean {
  if (settings.localAws.mode === 'always') return true;
  if (settings.localAws.mode === 'never') return false;
  const configured =
    Object.keys(env).some((k) => k === 'AWS_ENDPOINT_URL' || k.startsWith('AWS_ENDPOINT_URL_')) ||
    Boolean(env.AWS_ACCESS_KEY_ID) ||
    Boolean(env.AWS_PROFILE) ||
    Boolean(env.AWS_WEB_IDENTITY_TOKEN_FILE) ||
    Boolean(env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI);
  return !configured;
}

/** A view of the settings safe to print: secrets replaced, URI credentials hidden. */
export function describeSettings(settings: Settings): Record<string, unknown> {
  return {
    mongoUri: settings.mongoUri ? redactMongoUri(settings.mongoUri) : '(embedded)',
    home: settings.home,
    dagsFolder: settings.dagsFolder,
    logLevel: settings.logLevel,
    logFormat: settings.logFormat,
    webserver: { ...settings.webserver, authToken: settings.webserver.authToken ? '***' : undefined },
    localAws: settings.localAws,
    triggererCapacity: settings.triggererCapacity,
    workerSlots: settings.workerSlots,
    dagProcessing: settings.dagProcessing,
  };
}

/** mongodb://user:secret@host/db → mongodb://user:***@host/db */
export function redactMongoUri(uri: string): string {
  return uri.replace(/^(mongodb(?:\+srv)?:\/\/)([^:@/]+):([^@/]*)@/, '$1$2:***@');
}

function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
