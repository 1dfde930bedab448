export * from './registry.ts';
export * from './triggerer-metrics.ts';
export * from './store-metrics.ts';
