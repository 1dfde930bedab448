export * from './worker.ts';
export * from './task-runner.ts';
export * from './running-try.ts';
export * from './abort-reasons.ts';
