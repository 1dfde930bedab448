// Reads vitest's JSON reports (one per Node version) and prints the closing line CI is judged by:
// "N passed, N failed" (", N skipped" when any), summed over the reports. A test file that failed
// to load has no test results but failed all the same, so it counts as one failure; a report that
// is missing (its run crashed) counts as one failure too.
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    console.error(`summarize: cannot read the vitest JSON report ${file}: ${e.message}`);
    failed += 1;
    continue;
  }
  failed += report.numFailedTests ?? 0;
  for (const suite of report.testResults ?? []) {
    if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) {
      console.error(`summarize: ${suite.name} failed to run: ${String(suite.message ?? '').split('\n')[0]}`);
      failed += 1;
    }
  }
  passed += report.numPassedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
