// Module resolution hook for running deferflow from its TypeScript sources (the repository's
// `src/cli/bin.mjs`). package.json's exports map sends `import … from 'deferflow'` to src/ under
// the `deferflow-source` condition and to dist/ otherwise. The seed DAGs and users' DAG files
// inside this repository import 'deferflow': without the condition they would get dist/'s DAG
// classes while this process runs src/'s — two copies, and DAG detection would miss their DAGs.
// Equivalent to `node --conditions=deferflow-source`, for a process that was started without it.
export async function resolve(specifier, context, nextResolve) {
  const conditions = context.conditions.includes('deferflow-source') ? context.conditions : [...context.conditions, 'deferflow-source'];
  return nextResolve(specifier, { ...context, conditions });
}
