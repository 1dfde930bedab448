export * from './output-format.ts';
export * from './state-colors.ts';
export * from './renderer.ts';
