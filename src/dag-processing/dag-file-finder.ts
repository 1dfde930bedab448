/**
 * Which files in the DAGs folder are DAG files. Like Airflow's safe mode, a file that does not
 * mention "dag" at all is skipped without being imported (helpers, data, tests next to DAGs).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

const DAG_FILE_EXT = /\.(ts|mts|js|mjs)$/;
const DECLARATION = /\.d\.(ts|mts)$/;

export async function listDagFiles(folder: string, opts: { safeMode?: boolean } = {}): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && dir !== folder) return;
      throw e;
    }
    for (const ent of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const name = ent.name;
      if (name.startsWith('_') || name.startsWith('.') || name === 'node_modules') continue;
      const full = join(dir, name);
      if (ent.isDirectory()) await walk(full);
      else if (ent.isFile() && DAG_FILE_EXT.test(name) && !DECLARATION.test(name)) out.push(full);
    }
  };
  await walk(folder);
  if (opts.safeMode === false) return out;
  const kept: string[] = [];
  for (const f of out) {
    const text = await readFile(f, 'utf8');
    if (/dag/i.test(text)) kept.push(f);
  }
  return kept;
}
