/**
 * The error catalogue is guarded the way Fastify guards its own (src/errors/error-codes.ts):
 *  - every code a source raises is in the catalogue, and every catalogued code is raised;
 *  - every code is a row of the README's "Errors" table, with the catalogue's status, exit code
 *    and meaning;
 *  - every error class in src/ and triggerer/ derives from DeferflowError, except the few listed
 *    below with the reason they stand apart.
 *
 * Static: the sources are parsed (TypeScript's parser), nothing is run. "Raised" means a
 * code-shaped string literal in a raising position: the code argument of `new DeferflowError(…)`,
 * of `new`/`super(…)` of any class deriving from it (NotFoundError takes its code as argument;
 * the others pass theirs to `super`), of `problemFor(…)` (the API's problem documents), or the
 * value of a `code` property (the CLI's report of errors it did not raise itself).
 */
import { describe, expect, it } from 'vitest';
import ts from 'typescript';
import { ERROR_CATALOGUE, type ErrorCatalogueEntry } from '../../../src/errors/error-codes.ts';
import { importsOf, parse, readRepoFile, sourceFiles, where } from '../../support/typescript-sources.ts';

const CATALOGUE_FILE = 'src/errors/error-codes.ts';
const BASE_FILE = 'src/errors/deferflow-error.ts';
const BASE = 'DeferflowError';
const BUILTIN_ERRORS = new Set(['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError']);
const CODE_SHAPE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;

/**
 * Error classes that do not derive from DeferflowError on purpose. Each must still exist and
 * still stand apart (a stale entry fails), so this list only ever shrinks by a decision.
 */
const NOT_DEFERFLOW_ERRORS: ReadonlyArray<{ where: RegExp; why: string }> = [
  {
    where: /^src\/local-aws\//,
    why:
      "The embedded AWS's errors are AWS's: AwsError carries AWS error codes and becomes an AWS wire-protocol error response; job failures become job " +
      'statuses. None leaves the local AWS as an exception, and it shares no catalogue with deferflow (it imports only src/events and src/util).',
  },
  {
    where: /^src\/ui\/app\//,
    why:
      'Browser code: the browser loads only src/ui/app (src/ui/ui-routes.ts), so it cannot import src/errors; ApiError wraps the problem document ' +
      'the API built from the catalogue (its status and type).',
  },
  {
    where: /^src\/events\/event-pattern\.ts#InvalidEventPatternError$/,
    why:
      'src/events imports nothing from deferflow (the local AWS shares it). The error never leaves pattern compilation: validateEventPattern ' +
      'turns it into a result, the local EventBridge into AwsError InvalidEventPatternException.',
  },
];

const SOURCES = sourceFiles('src', 'triggerer');

interface ClassInfo {
  file: string;
  name: string;
  node: ts.ClassLikeDeclaration;
  /** The `extends` expression, if a plain identifier. */
  base: string | null;
}

/** Top-level class declarations of a file, by name. */
function classesOf(file: string): Map<string, ClassInfo> {
  const out = new Map<string, ClassInfo>();
  for (const st of parse(file).statements) {
    if (!ts.isClassDeclaration(st) || !st.name) continue;
    const ext = st.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]?.expression;
    out.set(st.name.text, { file, name: st.name.text, node: st, base: ext && ts.isIdentifier(ext) ? ext.text : ext ? ext.getText() : null });
  }
  return out;
}

/** Where the binding `name` used in `file` is declared: a class of this file, or followed through its imports and re-exports. */
function resolveClass(file: string, name: string, seen = new Set<string>()): ClassInfo | 'builtin' | null {
  const key = `${file}#${name}`;
  if (seen.has(key)) return null;
  seen.add(key);
  const local = classesOf(file).get(name);
  if (local) return local;
  const sf = parse(file);
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier) && st.moduleSpecifier.text.startsWith('.')) {
      const b = st.importClause?.namedBindings;
      if (!b || !ts.isNamedImports(b)) continue;
      const el = b.elements.find((e) => e.name.text === name);
      if (!el) continue;
      const specifier = st.moduleSpecifier.text;
      const target = importsOf(file).find((r) => r.specifier === specifier)?.target;
      return target ? resolveExport(target, (el.propertyName ?? el.name).text, seen) : null;
    }
  }
  return BUILTIN_ERRORS.has(name) ? 'builtin' : null;
}

function resolveExport(file: string, name: string, seen: Set<string>): ClassInfo | 'builtin' | null {
  if (classesOf(file).has(name)) return resolveClass(file, name, seen);
  for (const st of parse(file).statements) {
    if (!ts.isExportDeclaration(st) || !st.moduleSpecifier || !ts.isStringLiteral(st.moduleSpecifier)) continue;
    const target = importsOf(file).find((r) => r.specifier === (st.moduleSpecifier as ts.StringLiteral).text)?.target;
    if (!target) continue;
    const c = st.exportClause;
    if (!c) {
      const r = resolveExport(target, name, seen); // export * from
      if (r) return r;
    } else if (ts.isNamedExports(c)) {
      const el = c.elements.find((e) => e.name.text === name);
      if (el) return resolveExport(target, (el.propertyName ?? el.name).text, seen);
    }
  }
  return resolveClass(file, name, seen);
}

/** The chain of base classes from `c` up: names, ending in 'Error' (builtin) or an unresolved name. */
function ancestry(c: ClassInfo): { chain: ClassInfo[]; root: string | null } {
  const chain = [c];
  let cur = c;
  for (;;) {
    if (!cur.base) return { chain, root: null };
    const next = resolveClass(cur.file, cur.base);
    if (next === 'builtin') return { chain, root: cur.base };
    if (!next) return { chain, root: cur.base };
    if (chain.includes(next)) return { chain, root: null };
    chain.push(next);
    cur = next;
  }
}

function isBase(c: ClassInfo): boolean {
  return c.file === BASE_FILE && c.name === BASE;
}

const allClasses: ClassInfo[] = SOURCES.flatMap((f) => [...classesOf(f).values()]);
const errorClasses = allClasses.filter((c) => {
  const { root } = ancestry(c);
  return root !== null && (BUILTIN_ERRORS.has(root) || /(Error|Exception)$/.test(root));
});
const deferflowErrorClasses = errorClasses.filter((c) => ancestry(c).chain.some(isBase));
const deferflowErrorNames = new Set(deferflowErrorClasses.map((c) => c.name));

function exemption(c: ClassInfo): { why: string } | undefined {
  return NOT_DEFERFLOW_ERRORS.find((x) => x.where.test(c.file) || x.where.test(`${c.file}#${c.name}`));
}

interface Raise {
  code: string;
  at: string;
}

/** The code a raising argument names: a string literal, or either branch of a ternary choosing between codes. */
function codeLiterals(e: ts.Expression | undefined): string[] {
  if (!e) return [];
  if (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e)) return codeLiterals(e.expression);
  if (ts.isConditionalExpression(e)) return [...codeLiterals(e.whenTrue), ...codeLiterals(e.whenFalse)];
  return ts.isStringLiteralLike(e) && CODE_SHAPE.test(e.text) ? [e.text] : [];
}

function enclosingClass(n: ts.Node): ts.ClassLikeDeclaration | undefined {
  for (let p = n.parent; p; p = p.parent) if (ts.isClassLike(p)) return p;
  return undefined;
}

/** Every code raised in src/ and triggerer/ (see the file comment for the positions that count). */
function raisedCodes(): Raise[] {
  const raises: Raise[] = [];
  for (const file of SOURCES) {
    if (file === CATALOGUE_FILE || NOT_DEFERFLOW_ERRORS.some((x) => x.where.test(file))) continue;
    const visit = (n: ts.Node): void => {
      let codeArg: ts.Expression | undefined;
      if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && (n.expression.text === BASE || deferflowErrorNames.has(n.expression.text))) {
        codeArg = n.arguments?.[0];
      } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.SuperKeyword) {
        const cls = enclosingClass(n);
        if (cls?.name && deferflowErrorNames.has(cls.name.text)) codeArg = n.arguments[0];
      } else if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'problemFor') {
        codeArg = n.arguments[0];
      } else if ((ts.isPropertyAssignment(n) || ts.isPropertyDeclaration(n)) && n.name.getText() === 'code') {
        codeArg = n.initializer;
      }
      for (const code of codeLiterals(codeArg)) raises.push({ code, at: where(n) });
      ts.forEachChild(n, visit);
    };
    visit(parse(file));
  }
  return raises;
}

const CATALOGUE = ERROR_CATALOGUE as Record<string, ErrorCatalogueEntry>;
const CODES = Object.keys(CATALOGUE);

function readmeRow(code: string): string {
  const e = CATALOGUE[code];
  return `| \`${code}\` | ${e.status} | ${e.exit} | ${e.meaning} |`;
}

/** The rows of the README's "## Errors" table, by code. */
function readmeErrorRows(): Map<string, string> {
  const readme = readRepoFile('README.md');
  const start = readme.search(/^## Errors\s*$/m);
  if (start < 0) return new Map();
  const rest = readme.slice(start + 1);
  const next = rest.search(/^## /m);
  const section = next < 0 ? rest : rest.slice(0, next);
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const m = /^\|\s*`([A-Z0-9_]+)`\s*\|/.exec(line);
    if (m) rows.set(m[1], line.trim());
  }
  return rows;
}

describe('the error catalogue (src/errors/error-codes.ts)', () => {
  const raises = raisedCodes();

  it('finds what it checks (the scan sees the sources)', () => {
    expect(SOURCES.length).toBeGreaterThan(100);
    expect(deferflowErrorNames).toContain('NotFoundError');
    expect(raises.length).toBeGreaterThan(50);
  });

  it('holds every code the sources raise', () => {
    const missing = raises.filter((r) => !(r.code in CATALOGUE));
    expect(
      missing.map(
        (r) =>
          `${r.at} raises '${r.code}', which is not in the catalogue: add ${r.code}: { status, exit, title, meaning } to ERROR_CATALOGUE in ${CATALOGUE_FILE} ` +
          `and its row to the "## Errors" table of README.md (this test prints the row once the entry exists)`,
      ),
    ).toEqual([]);
  });

  it('raises every code it holds', () => {
    const raised = new Set(raises.map((r) => r.code));
    const unused = CODES.filter((c) => !raised.has(c));
    expect(
      unused.map(
        (c) =>
          `${c} is in ERROR_CATALOGUE (${CATALOGUE_FILE}) but nothing raises it: raise it where that failure happens ` +
          `(new DeferflowError('${c}', …)), or delete its entry and its row in README.md's "## Errors" table`,
      ),
    ).toEqual([]);
  });

  it('gives every code a meaning, an HTTP status and a CLI exit code', () => {
    const bad = CODES.filter((c) => {
      const e = CATALOGUE[c];
      return !CODE_SHAPE.test(c) || !(e.status >= 200 && e.status < 600) || ![1, 2].includes(e.exit) || e.meaning.length < 20 || e.meaning.includes('|');
    });
    expect(
      bad.map((c) => `${c} in ${CATALOGUE_FILE}: needs an UPPER_SNAKE code, a status 200-599, exit 1 or 2, and a meaning (one sentence or more, no '|')`),
    ).toEqual([]);
  });

  it('is the README\'s "Errors" table, row for row', () => {
    const rows = readmeErrorRows();
    const problems: string[] = [];
    if (rows.size === 0) problems.push('README.md has no "## Errors" section with a table | code | HTTP status | CLI exit | meaning |');
    for (const c of CODES) {
      const want = readmeRow(c);
      const got = rows.get(c);
      if (!got) problems.push(`README.md "## Errors" lacks the row for ${c}; add:\n${want}`);
      else if (got !== want) problems.push(`README.md "## Errors" row for ${c} disagrees with ${CATALOGUE_FILE}; make it:\n${want}`);
    }
    for (const c of rows.keys())
      if (!(c in CATALOGUE)) problems.push(`README.md "## Errors" has a row for ${c}, which is not in ${CATALOGUE_FILE}: remove the row`);
    expect(problems).toEqual([]);
  });
});

describe('error classes', () => {
  it('finds the error classes (the scan resolves imports and re-exports)', () => {
    const names = errorClasses.map((c) => c.name);
    for (const n of ['DeferflowError', 'NotFoundError', 'DagImportError', 'TaskDeferred', 'TemplateRenderError', 'LeaseLost', 'AwsError']) {
      expect(names).toContain(n);
    }
  });

  it('derive from DeferflowError (src/errors/deferflow-error.ts), the one root that extends Error', () => {
    const bad = errorClasses
      .filter((c) => !isBase(c) && !ancestry(c).chain.some(isBase) && !exemption(c))
      .map((c) => {
        const { chain, root } = ancestry(c);
        return (
          `${where(c.node)} class ${c.name} extends ${[...chain.slice(1).map((x) => x.name), root].join(' → ')}: ` +
          `derive it from DeferflowError with a code from ${CATALOGUE_FILE} (super('CODE', message)), or, if it must stand apart, ` +
          'add it with the reason to NOT_DEFERFLOW_ERRORS in test/unit/errors/error-catalogue.test.ts'
        );
      });
    expect(bad).toEqual([]);
    const root = allClasses.find(isBase);
    expect(root && ancestry(root).root).toBe('Error');
  });

  it('stand apart from DeferflowError only where NOT_DEFERFLOW_ERRORS says why, and every entry there is still needed', () => {
    const stale = NOT_DEFERFLOW_ERRORS.filter((x) => !errorClasses.some((c) => !deferflowErrorNames.has(c.name) && !isBase(c) && exemption(c) === x));
    expect(stale.map((x) => `NOT_DEFERFLOW_ERRORS entry ${x.where} matches no error class outside DeferflowError any more: remove it`)).toEqual([]);
  });
});
