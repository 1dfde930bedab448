export * from './task-instance-transitions.ts';
export * from './trigger-transitions.ts';
export * from './dag-run-transitions.ts';
export * from './atomic-updater.ts';
