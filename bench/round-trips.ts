/**
 * `npm run bench -- round-trips [--shared-server] [--only NAME,…]`: what the database costs per
 * unit of work, load-independent, as ONE JSON object — the figures of every area's measure module
 * in bench/measures/ (each exports `measure(ctx)`; see measure-context.ts) merged together:
 * scheduler-worker.ts (round trips, documents read and client CPU per task instance, writes per
 * defer / resume), and whatever other areas add there (trigger claims, SageMaker calls per job).
 *
 * The server: a mongo-java-server of the bench's own (so its CPU share can be reported), unless
 * `--shared-server` (then MONGODB_URI) or the build is not cached.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Measure } from './measures/measure-context.ts';
import { loadAverage, startOwnServer } from './support/mongo-java-server.ts';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const onlyArg = argv.indexOf('--only');
const only = onlyArg >= 0 ? new Set((argv[onlyArg + 1] ?? '').split(',')) : null;

const own = argv.includes('--shared-server') ? null : await startOwnServer();
const uri = own?.uri ?? process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017';
const out: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  server: own ? 'mongo-java-server (own)' : uri.replace(/\/\/[^@/]*@/, '//***@'),
  load_before: loadAverage(),
};
const areas: string[] = [];
try {
  const files = readdirSync(join(here, 'measures'))
    .filter((f) => f.endsWith('.ts') && f !== 'measure-context.ts')
    .sort();
  for (const f of files) {
    const name = f.slice(0, -3);
    if (only && !only.has(name)) continue;
    const mod = (await import(pathToFileURL(join(here, 'measures', f)).href)) as { measure?: Measure };
    if (typeof mod.measure !== 'function') continue;
    const t0 = performance.now();
    const figures = await mod.measure({ uri, serverPid: own?.pid ?? null, argv });
    areas.push(name);
    for (const [k, v] of Object.entries(figures)) {
      if (k in out) throw new Error(`bench/measures/${f} reports '${k}', which another area reported already`);
      out[k] = v;
    }
    out[`${name}_s`] = Math.round((performance.now() - t0) / 100) / 10;
  }
} finally {
  await own?.stop();
}
out.areas = areas;
out.load_after = loadAverage();
console.log(JSON.stringify(out));
