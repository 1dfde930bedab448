/**
 * No dead barrels: an `index.ts` in src/ or triggerer/ is either an entry point of the package
 * (package.json `exports`) or imported by something (the sources, tests, benchmarks, seed DAGs).
 * Nine re-export files that nothing imported were removed; this keeps new ones from piling up.
 */
import { describe, expect, it } from 'vitest';
import { importsOf, readRepoFile, sourceFiles } from '../../support/typescript-sources.ts';

/** The `deferflow-source` paths of package.json's exports: the public entry points. */
function packageEntries(): Set<string> {
  const pkg = JSON.parse(readRepoFile('package.json')) as { exports: Record<string, string | Record<string, string>> };
  const out = new Set<string>();
  for (const target of Object.values(pkg.exports)) {
    if (typeof target === 'object' && target['deferflow-source']) out.add(target['deferflow-source'].replace(/^\.\//, ''));
  }
  return out;
}

describe('barrel index.ts files', () => {
  it('are package entry points or imported by something', () => {
    const entries = packageEntries();
    expect(entries).toContain('src/index.ts');
    const imported = new Set(
      sourceFiles('src', 'triggerer', 'test', 'bench', 'dags', 'scripts')
        .flatMap(importsOf)
        .map((r) => r.target),
    );
    const dead = sourceFiles('src', 'triggerer').filter((f) => /(^|\/)index\.ts$/.test(f) && !entries.has(f) && !imported.has(f));
    expect(dead.map((f) => `${f} is neither a package.json export nor imported by anything: delete it (import the modules it re-exports directly)`)).toEqual(
      [],
    );
  });
});
