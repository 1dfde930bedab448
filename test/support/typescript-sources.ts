/**
 * The repository's own sources, read as syntax trees (TypeScript's parser, no type checker: a
 * few hundred files parse in about a second) for the static tests that keep the architecture
 * honest — layer rules (test/unit/architecture) and the error catalogue (test/unit/errors).
 * Paths are repository-relative with forward slashes, as the rules and messages spell them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const SOURCE_FILE = /\.(ts|mts|mjs)$/;

/** Every TypeScript / ES module source below the given repository folders (declaration files and src/ui/static excluded). */
export function sourceFiles(...folders: string[]): string[] {
  const out: string[] = [];
  const walk = (abs: string) => {
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      const p = join(abs, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && repoPath(p) !== 'src/ui/static') walk(p);
      } else if (SOURCE_FILE.test(e.name) && !e.name.endsWith('.d.ts')) {
        out.push(repoPath(p));
      }
    }
  };
  for (const f of folders) walk(join(REPO_ROOT, f));
  return out.sort();
}

export function repoPath(abs: string): string {
  return relative(REPO_ROOT, abs).split(sep).join('/');
}

export function readRepoFile(path: string): string {
  return readFileSync(join(REPO_ROOT, path), 'utf8');
}

const parsed = new Map<string, ts.SourceFile>();

/** The file's syntax tree (parsed once per test process). */
export function parse(path: string): ts.SourceFile {
  let sf = parsed.get(path);
  if (!sf) {
    sf = ts.createSourceFile(path, readRepoFile(path), ts.ScriptTarget.Latest, true, path.endsWith('.mjs') ? ts.ScriptKind.JS : ts.ScriptKind.TS);
    parsed.set(path, sf);
  }
  return sf;
}

/** `file:line` of a node, for messages. */
export function where(node: ts.Node): string {
  const sf = node.getSourceFile();
  return `${sf.fileName}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`;
}

export interface ImportRef {
  /** The importing file. */
  from: string;
  line: number;
  specifier: string;
  /** Repository path the relative specifier points at; null for a package (`mongodb`, `node:fs`, …). */
  target: string | null;
  /** `import type …`, `export type … from`, or every named binding marked `type`: erased at run time. */
  typeOnly: boolean;
}

function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const c = node.importClause;
  if (!c) return false; // `import './x.ts'` runs the module
  if (c.isTypeOnly) return true;
  if (c.name) return false;
  const b = c.namedBindings;
  return !!b && ts.isNamedImports(b) && b.elements.length > 0 && b.elements.every((e) => e.isTypeOnly);
}

function isTypeOnlyExport(node: ts.ExportDeclaration): boolean {
  if (node.isTypeOnly) return true;
  const c = node.exportClause;
  return !!c && ts.isNamedExports(c) && c.elements.length > 0 && c.elements.every((e) => e.isTypeOnly);
}

/** Every static import, re-export and dynamic `import('…')` with a literal specifier in the file. */
export function importsOf(path: string): ImportRef[] {
  const sf = parse(path);
  const refs: ImportRef[] = [];
  const add = (node: ts.Node, specifier: string, typeOnly: boolean) => {
    const target = specifier.startsWith('.') ? posix.normalize(posix.join(posix.dirname(path), specifier)) : null;
    refs.push({ from: path, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, specifier, target, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) add(node, node.moduleSpecifier.text, isTypeOnlyImport(node));
    else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier))
      add(node, node.moduleSpecifier.text, isTypeOnlyExport(node));
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) add(node, arg.text, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node, node.argument.literal.text, true); // `import('./x.ts').T` in a type position
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return refs;
}
