/**
 * One source of truth for defaults (src/config/defaults.ts): the README's Configuration table shows
 * exactly those values for every setting, and no process class repeats one of them as a literal
 * fallback (`opts.capacity ?? 10_000` drifted from settings once: 100,000 in the class, 10,000 in
 * settings). Static: the sources are parsed, nothing runs.
 */
import { describe, expect, it } from 'vitest';
import ts from 'typescript';
import { DEFAULTS } from '../../../src/config/defaults.ts';
import { loadSettings, SETTINGS_ENV, type SettingKey } from '../../../src/config/settings.ts';
import { parse, readRepoFile, sourceFiles, where } from '../../support/typescript-sources.ts';

/** Setting → its entry in DEFAULTS (settings with no fixed default — URIs, paths under home, secrets — have none). */
const DEFAULT_OF: Partial<Record<SettingKey, keyof typeof DEFAULTS>> = {
  dagsFolder: 'dagsFolder',
  logLevel: 'logLevel',
  logFormat: 'logFormat',
  webserverHost: 'webserverHost',
  webserverPort: 'webserverPort',
  localAws: 'localAws',
  localAwsPort: 'localAwsPort',
  triggererCapacity: 'triggererCapacity',
  workerSlots: 'workerSlots',
  dagbagImportTimeout: 'dagbagImportTimeoutS',
  dagDirListInterval: 'dagDirListIntervalS',
  minFileProcessInterval: 'minFileProcessIntervalS',
  parsingProcesses: 'parsingProcesses',
  standaloneDagProcessor: 'standaloneDagProcessor',
};

/** Option names process classes take, and the default (times a unit) they must fall back to. */
const OPTION_DEFAULTS: Record<string, { key: keyof typeof DEFAULTS; scale: number }> = {
  capacity: { key: 'triggererCapacity', scale: 1 },
  slots: { key: 'workerSlots', scale: 1 },
  importTimeoutMs: { key: 'dagbagImportTimeoutS', scale: 1000 },
  dirListIntervalMs: { key: 'dagDirListIntervalS', scale: 1000 },
  minFileProcessIntervalMs: { key: 'minFileProcessIntervalS', scale: 1000 },
  parsingProcesses: { key: 'parsingProcesses', scale: 1 },
  concurrency: { key: 'parsingProcesses', scale: 1 },
  port: { key: 'webserverPort', scale: 1 },
  host: { key: 'webserverHost', scale: 1 },
};

/** README's Configuration table: env var → the default cell, with `A` / `B` rows split. */
function readmeDefaults(): Map<string, string> {
  const readme = readRepoFile('README.md');
  const start = readme.search(/^## Configuration\s*$/m);
  const rest = readme.slice(start + 1);
  const section = rest.slice(0, rest.search(/^## /m));
  const out = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 4 || !cells[1].startsWith('`')) continue;
    const vars = cells[1].split(' / ').map((v) => v.replace(/`/g, ''));
    const defaults = cells[2].split(' / ');
    for (const [i, v] of vars.entries()) out.set(v, (defaults[vars.length === defaults.length ? i : 0] ?? '').replace(/`/g, ''));
  }
  return out;
}

function literalValue(e: ts.Expression): string | number | undefined {
  if (ts.isNumericLiteral(e)) return Number(e.text.replace(/_/g, ''));
  if (ts.isStringLiteralLike(e)) return e.text;
  return undefined;
}

describe('defaults (src/config/defaults.ts)', () => {
  it('are what loadSettings gives when nothing is set', () => {
    const s = loadSettings({}, {}, '/work');
    expect(s.triggererCapacity).toBe(DEFAULTS.triggererCapacity);
    expect(s.workerSlots).toBe(DEFAULTS.workerSlots);
    expect(s.webserver).toMatchObject({ host: DEFAULTS.webserverHost, port: DEFAULTS.webserverPort });
    expect(s.localAws).toMatchObject({ mode: DEFAULTS.localAws, port: DEFAULTS.localAwsPort });
    expect(s.dagProcessing).toEqual({
      importTimeoutMs: DEFAULTS.dagbagImportTimeoutS * 1000,
      dirListIntervalMs: DEFAULTS.dagDirListIntervalS * 1000,
      minFileProcessIntervalMs: DEFAULTS.minFileProcessIntervalS * 1000,
      parsingProcesses: DEFAULTS.parsingProcesses,
      standaloneProcessor: DEFAULTS.standaloneDagProcessor,
    });
  });

  it("are the README's Configuration table, for every setting", () => {
    const table = readmeDefaults();
    const problems: string[] = [];
    for (const [key, env] of Object.entries(SETTINGS_ENV) as Array<[SettingKey, string]>) {
      const cell = table.get(env);
      if (cell === undefined) {
        problems.push(`README.md "## Configuration" has no row for ${env}: add one (| \`${env}\` | default | meaning |)`);
        continue;
      }
      const d = DEFAULT_OF[key];
      if (d === undefined) continue;
      const want = String(DEFAULTS[d]);
      if (cell.replace(/^\.\//, '') !== want) problems.push(`README.md "## Configuration": ${env} shows default ${cell}, src/config/defaults.ts says ${want}`);
    }
    expect(problems).toEqual([]);
  });

  it('are not repeated as literal fallbacks in process classes (use DEFAULTS from src/config/defaults.ts)', () => {
    const repeats: string[] = [];
    for (const file of sourceFiles('src', 'triggerer')) {
      // The local AWS is an emulator with its own conventions (it imports nothing from config).
      if (file.startsWith('src/config/') || file.startsWith('src/local-aws/')) continue;
      const visit = (n: ts.Node): void => {
        if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken && ts.isPropertyAccessExpression(n.left)) {
          const opt = OPTION_DEFAULTS[n.left.name.text];
          const lit = literalValue(n.right);
          if (opt && lit !== undefined) {
            const want = typeof DEFAULTS[opt.key] === 'number' ? (DEFAULTS[opt.key] as number) * opt.scale : DEFAULTS[opt.key];
            if (lit === want)
              repeats.push(
                `${where(n)}: \`${n.getText()}\` repeats DEFAULTS.${opt.key}; write \`?? DEFAULTS.${opt.key}${opt.scale === 1 ? '' : ` * ${opt.scale}`}\``,
              );
          }
        }
        ts.forEachChild(n, visit);
      };
      visit(parse(file));
    }
    expect(repeats).toEqual([]);
  });
});
