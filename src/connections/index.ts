export * from './connection.ts';
export * from './connection-uri.ts';
export * from './connection-env.ts';
export * from './connection-repository.ts';
export * from './connection-lookup.ts';
export * from './secret-key.ts';
export * from './secret-cipher.ts';
export * from './secret-masker.ts';
