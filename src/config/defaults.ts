/**
 * The default of every setting, in one place. settings.ts applies them to what the environment
 * and flags leave unset; the process classes (Worker, Triggerer, DagProcessor, the webserver) use
 * the same values for options they are not given, so a component built without settings (Runtime,
 * `dags test`, tests, benchmarks) behaves like the process the CLI starts. README's Configuration
 * table shows them (test/unit/config/defaults.test.ts checks both). Imports nothing, so any layer
 * may read it.
 */
export const DEFAULTS = {
  dagsFolder: 'dags',
  logLevel: 'info',
  logFormat: 'pretty',
  webserverHost: '127.0.0.1',
  webserverPort: 8080,
  localAws: 'auto',
  localAwsPort: 4566,
  // Airflow's [triggerer] default_capacity is 1000; deferflow's triggerer is built for far more.
  triggererCapacity: 10_000,
  // Airflow's [celery] worker_concurrency.
  workerSlots: 16,
  // Airflow's dagbag_import_timeout and min_file_process_interval; Airflow lists the folder every
  // 5 minutes, deferflow every 30 s (and at once on file-system events).
  dagbagImportTimeoutS: 30,
  dagDirListIntervalS: 30,
  minFileProcessIntervalS: 30,
  parsingProcesses: 2,
  standaloneDagProcessor: false,
} as const;
