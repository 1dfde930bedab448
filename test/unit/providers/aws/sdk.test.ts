/**
 * src/providers/aws/sdk.ts loads the AWS SDK packages with `require` on first use. That is only
 * sound while `require` and `import` give the same module objects (one SageMakerClient class, so
 * the SDK's paginators' instanceof checks hold for the clients we build); a package that starts
 * shipping a separate ESM build through an `exports` map would break it, and this test says so.
 * And no other provider module imports an SDK package as a value, which would load it with deferflow/aws.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { LAZY_SDK_PACKAGES } from '../../../../src/providers/aws/sdk.ts';

const PROVIDER = resolve(import.meta.dirname, '../../../../src/providers/aws');

describe('lazily loaded AWS SDK packages', () => {
  it.each(Object.entries(LAZY_SDK_PACKAGES))('%s: require and import give the same module', async (pkg, load) => {
    const imported = (await import(pkg)) as Record<string, unknown>;
    const required = load() as unknown as Record<string, unknown>;
    const someClass = Object.keys(required).find((k) => /(Client|Command|Upload)$/.test(k) && typeof required[k] === 'function');
    expect(someClass, `${pkg} exports a client, command or Upload class`).toBeDefined();
    expect(required[someClass!]).toBe(imported[someClass!]);
  });

  it('are imported nowhere else in the provider but as types (so importing deferflow/aws loads none of them)', () => {
    const eager: string[] = [];
    for (const file of readdirSync(PROVIDER, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts') || file === 'sdk.ts') continue;
      const source = ts.createSourceFile(file, readFileSync(join(PROVIDER, file), 'utf8'), ts.ScriptTarget.Latest);
      for (const st of source.statements) {
        const from =
          (ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)
            ? st.moduleSpecifier.text
            : null;
        if (!from?.startsWith('@aws-sdk/') && !from?.startsWith('@smithy/')) continue;
        const typeOnly = ts.isImportDeclaration(st)
          ? st.importClause?.isTypeOnly ||
            (st.importClause?.namedBindings &&
              ts.isNamedImports(st.importClause.namedBindings) &&
              !st.importClause.name &&
              st.importClause.namedBindings.elements.every((e) => e.isTypeOnly))
          : ts.isExportDeclaration(st) && st.isTypeOnly;
        if (!typeOnly) eager.push(`src/providers/aws/${file}: ${st.getText(source).split('\n')[0]} — load it through src/providers/aws/sdk.ts`);
      }
    }
    expect(eager).toEqual([]);
  });
});
