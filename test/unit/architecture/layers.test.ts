/**
 * The layer rules of docs/ARCHITECTURE.md ("Layer rules"), enforced: every relative import in src/
 * and triggerer/ is resolved and checked against the table there — the document is the rule, so
 * it cannot drift from the code. Also checked: the table itself has no cycle and keeps the rules
 * the architecture rests on (nothing imports the CLI, only the assemblers import the local AWS …),
 * every exception listed is still needed, and the folders import each other without cycles.
 *
 * A layer is a folder (or a file): a file belongs to the layer whose `where` is the longest prefix
 * of its path. A "may import" entry is a layer (`store`), a layer for types only (`store` (types):
 * `import type`, erased at run time), or one file of a layer (`src/scheduler/task-specs.ts`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, REPO_ROOT, sourceFiles, type ImportRef } from '../../support/typescript-sources.ts';
import { ARCHITECTURE_DOC, docBlock, namesIn, tableRows } from './architecture-doc.ts';

interface Layer {
  name: string;
  where: string[];
  /** layer name or file path → 'all' | 'types' */
  mayImport: Map<string, 'all' | 'types'>;
  why: string;
}

interface LayerException {
  from: string;
  imports: string;
  why: string;
}

function loadLayers(): Layer[] {
  const block = docBlock('layers');
  if (!block) throw new Error(`${ARCHITECTURE_DOC} has no <!-- BEGIN layers --> … <!-- END layers --> table`);
  return tableRows(block).map(([name, where, may, why]) => ({
    name: namesIn(name)[0]?.name ?? name,
    where: namesIn(where).map((w) => w.name),
    mayImport: new Map(namesIn(may).map((m) => [m.name, m.typesOnly ? 'types' : 'all'] as const)),
    why,
  }));
}

function loadExceptions(): LayerException[] {
  const block = docBlock('layer-exceptions');
  if (block === null) throw new Error(`${ARCHITECTURE_DOC} has no <!-- BEGIN layer-exceptions --> … <!-- END layer-exceptions --> table`);
  return tableRows(block)
    .filter((cells) => namesIn(cells[0] ?? '').length > 0)
    .map(([from, imports, why]) => ({ from: namesIn(from)[0].name, imports: namesIn(imports)[0]?.name ?? '', why }));
}

const LAYERS = loadLayers();
const EXCEPTIONS = loadExceptions();
const BY_NAME = new Map(LAYERS.map((l) => [l.name, l]));
const SOURCES = sourceFiles('src', 'triggerer');

function layerOf(file: string): Layer | undefined {
  let best: { layer: Layer; len: number } | undefined;
  for (const layer of LAYERS) {
    for (const w of layer.where) {
      const hit = w.endsWith('/') ? file.startsWith(w) : file === w;
      if (hit && (!best || w.length > best.len)) best = { layer, len: w.length };
    }
  }
  return best?.layer;
}

/** Whether `from` may import `ref.target`; null when allowed, else why not. */
function verdict(from: Layer, to: Layer, ref: ImportRef): string | null {
  const byFile = from.mayImport.get(ref.target!);
  const byLayer = from.mayImport.get(to.name);
  const allowed = byFile ?? byLayer;
  if (allowed === 'all' || (allowed === 'types' && ref.typeOnly)) return null;
  if (allowed === 'types') return `${from.name} may import only types from ${to.name}: make it \`import type\``;
  return `${from.name} may not import ${to.name}`;
}

interface CrossImport {
  ref: ImportRef;
  from: Layer;
  to: Layer;
}

let scanned: { cross: CrossImport[]; unplaced: string[] } | undefined;

/** Every import in src/ and triggerer/ that crosses a layer boundary (scanned once), and files in no layer. */
function crossLayerImports(): { cross: CrossImport[]; unplaced: string[] } {
  scanned ??= scan();
  return scanned;
}

function scan(): { cross: CrossImport[]; unplaced: string[] } {
  const cross: CrossImport[] = [];
  const unplaced: string[] = [];
  for (const file of SOURCES) {
    const from = layerOf(file);
    if (!from) {
      unplaced.push(file);
      continue;
    }
    for (const ref of importsOf(file)) {
      if (!ref.target) continue;
      const to = layerOf(ref.target);
      if (!to) unplaced.push(`${ref.target} (imported by ${file}:${ref.line})`);
      else if (to !== from) cross.push({ ref, from, to });
    }
  }
  return { cross, unplaced };
}

function isExcepted(c: CrossImport): LayerException | undefined {
  return EXCEPTIONS.find((x) => x.from === c.ref.from && x.imports === c.ref.target);
}

/** A cycle in `edges` (as a path a → … → a), or null. */
function findCycle(nodes: string[], edges: (n: string) => string[]): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | null => {
    state.set(n, 'open');
    path.push(n);
    for (const m of edges(n)) {
      if (state.get(m) === 'open') return [...path.slice(path.indexOf(m)), m];
      if (!state.has(m)) {
        const c = visit(m);
        if (c) return c;
      }
    }
    path.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of nodes) {
    if (!state.has(n)) {
      const c = visit(n);
      if (c) return c;
    }
  }
  return null;
}

/** The layers a layer's entries point at (file entries count for the layer holding the file). */
function targetsOf(layer: Layer): string[] {
  return [...layer.mayImport.keys()].map((k) => (k.endsWith('.ts') ? (layerOf(k)?.name ?? k) : k));
}

describe(`layer rules (${ARCHITECTURE_DOC}, "Layer rules")`, () => {
  it('are a well-formed table: known layers, existing folders, a reason for each', () => {
    const problems: string[] = [];
    expect(LAYERS.length).toBeGreaterThan(20);
    for (const l of LAYERS) {
      if (!l.why || l.why.length < 10) problems.push(`layer ${l.name}: say why (the last column)`);
      if (l.where.length === 0) problems.push(`layer ${l.name}: name its folder(s) in the second column`);
      for (const w of l.where) if (!existsSync(join(REPO_ROOT, w))) problems.push(`layer ${l.name}: ${w} does not exist`);
      for (const m of l.mayImport.keys()) {
        if (m.endsWith('.ts') ? !existsSync(join(REPO_ROOT, m)) : !BY_NAME.has(m)) problems.push(`layer ${l.name} may import ${m}, which is no layer or file`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('place every source file in a layer', () => {
    const { unplaced } = crossLayerImports();
    expect(
      unplaced.map(
        (f) => `${f} is in no layer: add its folder to a row of the layer table in ${ARCHITECTURE_DOC} (or a new row, with what it may import and why)`,
      ),
    ).toEqual([]);
  });

  it('allow every import between layers that the code makes', () => {
    const bad = crossLayerImports()
      .cross.map((c) => ({ c, why: verdict(c.from, c.to, c.ref) }))
      .filter(({ c, why }) => why !== null && !isExcepted(c))
      .map(
        ({ c, why }) =>
          `${c.ref.from}:${c.ref.line} imports '${c.ref.specifier}' (${c.to.name}): ${why}. Move the code to the layer it belongs to, or — if the rule is ` +
          `what is wrong — change the row of ${c.from.name} in ${ARCHITECTURE_DOC} and say why (a one-off goes to the layer-exceptions table, with why)`,
      );
    expect(bad).toEqual([]);
  });

  it('list only exceptions that are still needed, each with a reason', () => {
    const { cross } = crossLayerImports();
    const stale = EXCEPTIONS.filter((x) => {
      const c = cross.find((k) => k.ref.from === x.from && k.ref.target === x.imports);
      return !c || verdict(c.from, c.to, c.ref) === null;
    });
    expect(stale.map((x) => `layer exception ${x.from} → ${x.imports} is no longer needed: remove its row from ${ARCHITECTURE_DOC}`)).toEqual([]);
    expect(EXCEPTIONS.filter((x) => x.why.length < 10).map((x) => `layer exception ${x.from} → ${x.imports}: say why`)).toEqual([]);
  });

  it('form no cycle (the table, types included)', () => {
    const cycle = findCycle(
      LAYERS.map((l) => l.name),
      (n) => targetsOf(BY_NAME.get(n)!),
    );
    expect(cycle && `the layer table has a cycle: ${cycle.join(' → ')}`).toBeNull();
  });

  it('leave no import cycle between folders in the code (exceptions included)', () => {
    const edges = new Map<string, Set<string>>();
    for (const c of crossLayerImports().cross) {
      if (!edges.has(c.from.name)) edges.set(c.from.name, new Set());
      edges.get(c.from.name)!.add(c.to.name);
    }
    const cycle = findCycle([...edges.keys()], (n) => [...(edges.get(n) ?? [])]);
    expect(cycle && `imports cycle between layers: ${cycle.join(' → ')}`).toBeNull();
  });

  it('keep the rules the architecture rests on', () => {
    const importers = (name: string) => LAYERS.filter((l) => targetsOf(l).includes(name)).map((l) => l.name);
    const valueTargets = (l: Layer) => [...l.mayImport].filter(([, how]) => how === 'all').map(([k]) => (k.endsWith('.ts') ? layerOf(k)!.name : k));
    const layer = (n: string) => BY_NAME.get(n)!;
    // Each: [what must hold, holds?]
    const rules: Array<[string, boolean]> = [
      ['util, errors and events import nothing from deferflow', ['util', 'errors', 'events'].every((n) => layer(n).mayImport.size === 0)],
      ['nothing imports cli (it is the top)', importers('cli').length === 0],
      ['only composition, standalone and cli import local-aws', importers('local-aws').every((n) => ['composition', 'standalone', 'cli'].includes(n))],
      ['only runtime, cli and standalone import composition', importers('composition').every((n) => ['runtime', 'cli', 'standalone'].includes(n))],
      [
        'providers/aws imports no front door, process or assembler',
        targetsOf(layer('providers/aws')).every(
          (n) => !['api', 'cli', 'ui', 'ui/app', 'runtime', 'composition', 'standalone', 'scheduler', 'worker', 'triggerer'].includes(n),
        ),
      ],
      [
        'app imports no front door, process runtime or assembler (api, cli, runtime → app → store)',
        targetsOf(layer('app')).every((n) => !['api', 'cli', 'ui', 'runtime', 'composition', 'standalone', 'worker', 'triggerer'].includes(n)),
      ],
      ['api, cli and runtime import app', ['api', 'cli', 'runtime'].every((n) => targetsOf(layer(n)).includes('app'))],
      [
        'triggers (the SDK everything imports) uses only util, events and errors at run time',
        valueTargets(layer('triggers')).every((n) => ['util', 'events', 'errors'].includes(n)),
      ],
      [
        'triggerer imports only triggers, events, store, services, metrics, util, errors and config',
        targetsOf(layer('triggerer')).every((n) => ['triggers', 'events', 'store', 'services', 'metrics', 'util', 'errors', 'config'].includes(n)),
      ],
      ['store imports only errors and util', targetsOf(layer('store')).every((n) => ['errors', 'util'].includes(n))],
      ['ui/app imports only types (the browser loads nothing else)', valueTargets(layer('ui/app')).length === 0],
    ];
    expect(rules.filter(([, ok]) => !ok).map(([rule]) => `the layer table in ${ARCHITECTURE_DOC} breaks a rule: ${rule}`)).toEqual([]);
  });
});
