// Reads vitest's JSON report and prints the closing line CI is judged by:
// "N passed, N failed" (", N skipped" when any). A test file that failed to load has no test
// results but failed all the same, so it counts as one failure.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (e) {
  console.error(`summarize: cannot read the vitest JSON report ${file}: ${e.message}`);
  console.log('0 passed, 1 failed');
  process.exit(0);
}
let failed = report.numFailedTests ?? 0;
for (const suite of report.testResults ?? []) {
  if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) {
    console.error(`summarize: ${suite.name} failed to run: ${String(suite.message ?? '').split('\n')[0]}`);
    failed += 1;
  }
}
const passed = report.numPassedTests ?? 0;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
