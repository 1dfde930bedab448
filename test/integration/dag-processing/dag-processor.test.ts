/**
 * The DAG processor against the real test server: it alone records DAGs, their versions and
 * import errors, and keeps them in step with the folder — new, edited, moved, duplicated, broken,
 * fixed and deleted files, and files deleted while no processor ran. Scans are requested by hand
 * here (no file watching), so every step is deterministic.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DagCatalog } from '../../../src/dag-processing/dag-catalog.ts';
import { DagProcessor, type ScanReport } from '../../../src/dag-processing/dag-processor.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { Store } from '../../../src/store/store.ts';

const SRC = resolve(import.meta.dirname, '../../../src/dag/index.ts');
const MONGODB_URI = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017';
const logger = createLogger({ level: 'silent', format: 'json' });

let store: Store;
let folder: string;

function dagFile(dagIds: string[], value = 1): string {
  return [
    `import { DAG, task } from ${JSON.stringify(SRC)};`,
    ...dagIds.map((id, i) => `export const d${i} = new DAG({ dagId: '${id}' }, () => { task('t', () => ${value}); });`),
    '',
  ].join('\n');
}

/** Scans only when asked; start() waits for its whole first scan, however loaded the machine. */
const processor = (opts: Partial<ConstructorParameters<typeof DagProcessor>[0]> = {}) =>
  new DagProcessor({
    store,
    folder,
    logger,
    watch: false,
    startupWaitMs: Number.POSITIVE_INFINITY,
    importTimeoutMs: 10_000,
    minFileProcessIntervalMs: 60_000,
    dirListIntervalMs: 3_600_000,
    ...opts,
  });

async function active(): Promise<Record<string, string>> {
  const rows = await store.dags.find({ is_active: true }).toArray();
  return Object.fromEntries(rows.map((d) => [d._id, d.fileloc.slice(folder.length + 1)]));
}

async function importErrors(): Promise<Record<string, string>> {
  const rows = await store.importErrors.find({}).toArray();
  return Object.fromEntries(rows.map((e) => [e._id.slice(folder.length + 1), e.message ?? '']));
}

beforeAll(async () => {
  store = await Store.connect({ uri: MONGODB_URI, dbName: `deferflow_test_dagproc_${randomBytes(4).toString('hex')}` });
  folder = await mkdtemp(join(tmpdir(), 'deferflow-dagproc-'));
});
afterAll(async () => {
  await store?.dropDatabase().catch(() => undefined);
  await store?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe('DagProcessor', { timeout: 120_000 }, () => {
  it('keeps dags, dag_versions and import_errors in step with the folder', async () => {
    await writeFile(join(folder, 'a.ts'), dagFile(['proc_a']));
    await writeFile(join(folder, 'b.ts'), dagFile(['proc_b']));
    await writeFile(
      join(folder, 'broken.ts'),
      `import { DAG } from ${JSON.stringify(SRC)};\nexport default new DAG({ dagId: 'proc_fixed' });\nthrow new Error('not yet');\n`,
    );
    const p = processor();
    const first = (await p.start())!;
    expect(first.parsed.map((f) => f.file.slice(folder.length + 1)).sort()).toEqual(['a.ts', 'b.ts', 'broken.ts']);
    expect(await active()).toEqual({ proc_a: 'a.ts', proc_b: 'b.ts' });
    const a1 = await store.dags.findOne({ _id: 'proc_a' });
    expect(a1).toMatchObject({ processor_subdir: folder, relative_fileloc: 'a.ts', is_paused: false });
    expect(a1?.version).toMatch(/^[0-9a-f]{16}$/);
    expect(await store.dagVersions.countDocuments()).toBe(2);
    expect(await importErrors()).toEqual({ 'broken.ts': `not yet (${join(folder, 'broken.ts')}:3)` });
    const brokenSince = (await store.importErrors.findOne({}))?.timestamp;

    // The catalog (what schedulers read) sees the same, without importing any file.
    const catalog = new DagCatalog({ store, logger });
    await catalog.refresh();
    expect(catalog.getDag('proc_a')?.version).toBe(a1?.version);
    expect(catalog.getDag('proc_a')?.taskIds).toEqual(['t']);
    expect(catalog.importErrors.map((e) => e.line)).toEqual([3]);

    // Nothing changed: nothing is parsed again.
    const reports: ScanReport[] = [];
    p.scans$.subscribe((r) => reports.push(r));
    await p.request('changes');
    expect(reports.at(-1)?.parsed).toEqual([]);
    // An edit is a new version; the old one stays recorded (runs started with it name it).
    await writeFile(join(folder, 'a.ts'), dagFile(['proc_a'], 2));
    await p.request('changes');
    const a2 = await store.dags.findOne({ _id: 'proc_a' });
    expect(a2?.version).not.toBe(a1?.version);
    expect((await store.dagVersions.find({ dag_id: 'proc_a' }).toArray()).map((v) => v.version).sort()).toEqual([a1?.version, a2?.version].sort());
    await catalog.refresh();
    expect(catalog.getDag('proc_a')?.version).toBe(a2?.version);

    // A DAG moving from one file to another in one go is not a duplicate.
    await writeFile(join(folder, 'b.ts'), `// proc_b moved to c.ts; still mentions the word dag\nexport {};\n`);
    await writeFile(join(folder, 'c.ts'), dagFile(['proc_b']));
    await p.request('changes');
    expect(await active()).toEqual({ proc_a: 'a.ts', proc_b: 'c.ts' });

    // A second file claiming an id is an import error; the first keeps it.
    await writeFile(join(folder, 'dup.ts'), dagFile(['proc_b', 'proc_dup_other']));
    await p.request('changes');
    expect((await importErrors())['dup.ts']).toContain(`Duplicate dagId 'proc_b': already defined in ${join(folder, 'c.ts')}`);
    expect(await active()).toEqual({ proc_a: 'a.ts', proc_b: 'c.ts' });
    await unlink(join(folder, 'dup.ts'));

    // The same error again keeps its first timestamp; a fix clears it and its DAG appears.
    const again = processor({ minFileProcessIntervalMs: 0 });
    await p.stop();
    await again.start();
    expect((await store.importErrors.findOne({ _id: join(folder, 'broken.ts') }))?.timestamp).toEqual(brokenSince);
    expect(await importErrors()).toEqual({ 'broken.ts': expect.stringContaining('not yet') });
    await writeFile(join(folder, 'broken.ts'), dagFile(['proc_fixed']));
    await again.request('changes');
    expect(await importErrors()).toEqual({});
    expect(await active()).toEqual({ proc_a: 'a.ts', proc_b: 'c.ts', proc_fixed: 'broken.ts' });

    // Deleted: deactivated (is_paused and the rest are kept for when it comes back).
    await unlink(join(folder, 'a.ts'));
    await again.request('changes');
    expect(await active()).toEqual({ proc_b: 'c.ts', proc_fixed: 'broken.ts' });
    expect((await store.dags.findOne({ _id: 'proc_a' }))?.is_active).toBe(false);
    await catalog.refresh();
    expect(catalog.getDag('proc_a')).toBeUndefined();
    await again.stop();

    // Files deleted while no processor ran are noticed at the next start.
    await unlink(join(folder, 'c.ts'));
    const third = processor();
    await third.start();
    expect(await active()).toEqual({ proc_fixed: 'broken.ts' });
    await third.stop();
  });

  it('re-parses unchanged files every interval, except one that timed out, until it changes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'deferflow-dagproc-hang-'));
    try {
      await writeFile(join(dir, 'ok.ts'), dagFile(['proc_hang_neighbour']));
      await writeFile(
        join(dir, 'hang.ts'),
        `import { DAG } from ${JSON.stringify(SRC)};\nexport const d = new DAG({ dagId: 'proc_hang' });\nwhile (true) {}\n`,
      );
      const p = new DagProcessor({
        store,
        folder: dir,
        logger,
        watch: false,
        importTimeoutMs: 1_000,
        minFileProcessIntervalMs: 0,
        dirListIntervalMs: 3_600_000,
        startupWaitMs: Number.POSITIVE_INFINITY,
      });
      const reports: ScanReport[] = [];
      p.scans$.subscribe((r) => reports.push(r));
      const first = (await p.start())!;
      expect(first.parsed.find((f) => f.file.endsWith('hang.ts'))?.error).toContain('timed out after 1 s');
      await p.request('full');
      expect(reports.at(-1)?.parsed.map((f) => f.file.slice(dir.length + 1))).toEqual(['ok.ts']);
      await writeFile(join(dir, 'hang.ts'), dagFile(['proc_hang']));
      await p.request('full');
      expect(
        reports
          .at(-1)
          ?.parsed.map((f) => f.file.slice(dir.length + 1))
          .sort(),
      ).toEqual(['hang.ts', 'ok.ts']);
      expect(p.brokenFiles).toEqual([]);
      await p.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
