/** GET /api/v1/version — Airflow's VersionInfo: deferflow's package version. */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { VersionInfoSchema } from '../schemas/resources.ts';

/** The package.json next to src/ (or dist/src/): two levels up from src/api/routes, three from dist. */
function packageVersion(): string {
  for (const rel of ['../../../package.json', '../../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'deferflow' && pkg.version) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

export function versionRoutes(app: FastifyInstance): void {
  const version = packageVersion();
  app.get('/api/v1/version', { schema: { tags: ['Monitoring'], summary: 'Version of deferflow', response: { 200: VersionInfoSchema } } }, async () => ({
    version,
    git_version: null,
  }));
}
