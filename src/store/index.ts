export * from './schema.ts';
export * from './store.ts';
export * from './state-change-bus.ts';
export * from './embedded-mongo.ts';
export * from './transitions/index.ts';
