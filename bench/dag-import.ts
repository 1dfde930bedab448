/**
 * What safe DAG-file imports cost. Prints ONE JSON object:
 *   child_ready_ms          a DAG-file child process from spawn to ready (node + tsx + hooks)
 *   parse.*                 parseDagFiles over N small generated DAG files and over the seed DAGs
 *                           (their AWS SDK imports), per file, with 1 and 2 children
 *   worker.*                SafeDagLoader.load per task: first load of a file (child validation +
 *                           import here), first load of content the DAG processor already
 *                           validated (import here only), and every later task (a stat)
 *   load                    os.loadavg() at start and end
 * Usage: npx tsx bench/dag-import.ts [--files N] [--cached-loads M]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseDagFiles } from '../src/dag-processing/child/dag-file-parser.ts';
import { DagFileChildProcess } from '../src/dag-processing/child/dag-file-child-process.ts';
import { listDagFiles } from '../src/dag-processing/dag-file-finder.ts';
import { SafeDagLoader } from '../src/dag-processing/safe-dag-loader.ts';
import { sha256 } from '../src/dag-processing/serialized-dag.ts';
import { readFile } from 'node:fs/promises';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src/dag/index.ts');
const N = Math.max(1, arg('files', 20));
const CACHED = Math.max(1, arg('cached-loads', 2000));
const round = (x: number): number => Math.round(x * 100) / 100;

const load0 = loadavg();
const dir = await mkdtemp(join(tmpdir(), 'deferflow-bench-import-'));
try {
  const files: string[] = [];
  for (let i = 0; i < N; i++) {
    const f = join(dir, `bench_${i}.ts`);
    const tasks = Array.from({ length: 10 }, (_, t) => `  const t${t} = task('t${t}', () => ${t});`).join('\n');
    const chain = Array.from({ length: 9 }, (_, t) => `t${t}.then(t${t + 1});`).join(' ');
    await writeFile(
      f,
      `import { DAG, task } from ${JSON.stringify(SRC)};\nexport default new DAG({ dagId: 'bench_${i}' }, () => {\n${tasks}\n  ${chain}\n});\n`,
    );
    files.push(f);
  }

  // A child from spawn to ready, a few times.
  const ready: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const c = new DagFileChildProcess({ folders: [] }, { startTimeoutMs: 60_000 });
    await c.whenReady();
    ready.push(performance.now() - t0);
    c.close();
  }

  const timeParse = async (list: string[], concurrency: number, folder: string) => {
    const t0 = performance.now();
    const r = await parseDagFiles(list, { timeoutMs: 60_000, concurrency, folder });
    const ms = performance.now() - t0;
    const bad = r.filter((x) => x.error);
    if (bad.length) throw new Error(`bench files failed to parse: ${bad.map((b) => b.error?.message).join('; ')}`);
    return {
      files: list.length,
      wall_ms: round(ms),
      ms_per_file: round(ms / list.length),
      import_ms_per_file_in_child: round(r.reduce((a, x) => a + x.importMs, 0) / list.length),
    };
  };
  const seeds = await listDagFiles(join(ROOT, 'dags'));
  const parse = {
    small_1_child: await timeParse(files, 1, dir),
    small_2_children: await timeParse(files, 2, dir),
    one_small_file: await timeParse(files.slice(0, 1), 1, dir),
    seed_dags_1_child: await timeParse(seeds, 1, join(ROOT, 'dags')),
    one_seed_dag: await timeParse(seeds.slice(0, 1), 1, join(ROOT, 'dags')),
  };

  // Worker side: what a task pays to get its live DAG.
  const loader = new SafeDagLoader({ timeoutMs: 60_000, folder: dir });
  let t0 = performance.now();
  await loader.load(files[0]);
  const firstWithChild = performance.now() - t0;
  loader.markValidated(files[1], sha256(await readFile(files[1])));
  t0 = performance.now();
  await loader.load(files[1]);
  const firstPreValidated = performance.now() - t0;
  t0 = performance.now();
  for (let i = 0; i < CACHED; i++) await loader.load(files[0]);
  const cached = (performance.now() - t0) / CACHED;
  const seedLoader = new SafeDagLoader({ timeoutMs: 60_000, folder: join(ROOT, 'dags') });
  t0 = performance.now();
  await seedLoader.load(seeds[0]);
  const seedFirst = performance.now() - t0;

  console.log(
    JSON.stringify(
      {
        bench: 'dag-import',
        node: process.version,
        child_ready_ms: ready.map(round),
        parse,
        worker: {
          first_task_of_a_file_ms: round(firstWithChild),
          first_task_of_processor_validated_content_ms: round(firstPreValidated),
          every_later_task_ms: round(cached),
          first_task_of_a_seed_dag_ms: round(seedFirst),
          cached_loads: CACHED,
        },
        load: { start: load0.map(round), end: loadavg().map(round) },
      },
      null,
      2,
    ),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
