export * from './logger.ts';
export * from './secret-masker.ts';
export * from './task-log-sink.ts';
