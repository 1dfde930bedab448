/**
 * Importing a module changes nothing: its top level only declares — imports and exports,
 * functions, classes, types, and constants. A registry filled on import, a library patched on
 * import or a handler installed on import makes behaviour depend on which modules some process
 * happened to load (a process that never imported the masker masked nothing; a patched nunjucks
 * changed every other nunjucks user). Executables are the exception: running is what they are for.
 *
 * What counts as "does more than declare", precisely:
 *  - a top-level statement that is not a declaration (a call, an assignment, `if`, a loop, …);
 *  - a top-level `await`;
 *  - a constant whose initializer calls a function named for an effect (install…, register…,
 *    patch…, set…, configure…, start…, listen…, connect…, mount…, apply…).
 * Constants built by ordinary calls (`z.object(…)`, `new Map()`, `createEnvironment()`) are
 * declarations of values and are not flagged; whether such a call reaches outside the module is
 * for review, not for this scan.
 */
import { describe, expect, it } from 'vitest';
import ts from 'typescript';
import { parse, sourceFiles, where } from '../../support/typescript-sources.ts';

/** Programs, not modules: each runs as its own process (or page) and is never imported. */
const EXECUTABLES: Record<string, string> = {
  'src/cli/deferflow.ts': 'the compiled `deferflow` executable',
  'src/cli/bin.mjs': 'the `deferflow` executable from the TypeScript sources',
  'src/dag-processing/child/child-main.ts': 'the DAG-file child process',
  'src/local-aws/algorithms/knn/container.ts': "the KNN algorithm's container program (training and serving processes)",
  'src/runtime/example.ts': 'a runnable embedding example',
  'src/ui/app/main.ts': "the browser app's entry module",
};

const EFFECT_NAME = /^(install|register|patch|set|configure|start|listen|connect|mount|apply)([A-Z_]|$)/;

const DECLARATIONS = new Set([
  ts.SyntaxKind.ImportDeclaration,
  ts.SyntaxKind.ImportEqualsDeclaration,
  ts.SyntaxKind.ExportDeclaration,
  ts.SyntaxKind.FunctionDeclaration,
  ts.SyntaxKind.ClassDeclaration,
  ts.SyntaxKind.InterfaceDeclaration,
  ts.SyntaxKind.TypeAliasDeclaration,
  ts.SyntaxKind.EnumDeclaration,
  ts.SyntaxKind.ModuleDeclaration,
]);

function calleeName(e: ts.Expression): string | undefined {
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return e.name.text;
  return undefined;
}

/** What in an initializer runs on import beyond building a value: top-level awaits and effect-named calls (not inside functions). */
function effectsIn(init: ts.Node): ts.Node[] {
  const found: ts.Node[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isFunctionLike(n) || ts.isClassLike(n)) return; // runs later, if ever
    if (ts.isAwaitExpression(n)) found.push(n);
    if ((ts.isCallExpression(n) || ts.isNewExpression(n)) && EFFECT_NAME.test(calleeName(n.expression) ?? '')) found.push(n);
    ts.forEachChild(n, visit);
  };
  visit(init);
  return found;
}

function sideEffects(file: string): string[] {
  const out: string[] = [];
  for (const st of parse(file).statements) {
    if (DECLARATIONS.has(st.kind)) continue;
    if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) {
        for (const e of d.initializer ? effectsIn(d.initializer) : []) out.push(`${where(e)}: \`${e.getText().slice(0, 60)}\` runs on import`);
      }
      continue;
    }
    if (ts.isExportAssignment(st)) {
      for (const e of effectsIn(st.expression)) out.push(`${where(e)}: \`${e.getText().slice(0, 60)}\` runs on import`);
      continue;
    }
    out.push(`${where(st)}: \`${st.getText().split('\n')[0].slice(0, 60)}\` runs on import`);
  }
  return out;
}

describe('import side effects', () => {
  const files = sourceFiles('src', 'triggerer');

  it('none: a module only declares (executables aside)', () => {
    const found = files.filter((f) => !(f in EXECUTABLES)).flatMap(sideEffects);
    expect(
      found.map(
        (f) =>
          `${f}: do it when asked instead (a function the composition root or the first use calls), ` +
          'or, if the file is a program, list it in EXECUTABLES of test/unit/architecture/import-side-effects.test.ts',
      ),
    ).toEqual([]);
  });

  it('the executables listed still exist and still run something on load', () => {
    const stale = Object.keys(EXECUTABLES).filter((f) => !files.includes(f) || sideEffects(f).length === 0);
    expect(stale.map((f) => `${f} is listed in EXECUTABLES but is gone or only declares: remove it from the list`)).toEqual([]);
  });
});
