export * from './xcom-repository.ts';
export * from './variable-repository.ts';
export * from './task-log-repository.ts';
export * from './job-repository.ts';
export * from './dag-repository.ts';
export * from './json-safe.ts';
export * from './dag-version-repository.ts';
export * from './dag-run-flag-repository.ts';
