export * from './deferflow-error.ts';
export * from './error-codes.ts';
export * from './task-errors.ts';
export * from './dag-import-error.ts';
export * from './not-found-error.ts';
export * from './invalid-input-error.ts';
