/**
 * deferflow's own version, from its package.json (through the package's self-reference, so it is
 * found from src/ and from dist/ alike). Not npm_package_version: npm sets that to the version of
 * whatever project `npm run`/`npx` was started in, which is the user's, not deferflow's.
 */
import { createRequire } from 'node:module';

export function deferflowVersion(): string {
  const pkg = createRequire(import.meta.url)('deferflow/package.json') as { version: string };
  return pkg.version;
}
