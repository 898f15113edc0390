/**
 * Ends every jest run with a plain "N passed, N failed[, N skipped]" line: CI reads that form, not jest's
 * own summary. Printed at process exit so it comes after everything jest writes.
 */
const fs = require('node:fs');

class SummaryReporter {
  onRunComplete(_contexts, r) {
    const skipped = r.numPendingTests + r.numTodoTests;
    // A suite that fails to load has no failed tests of its own; count it so the line never reads clean.
    const failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
    const line = `${r.numPassedTests} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : '');
    process.once('exit', () => fs.writeSync(1, `\n${line}\n`));
  }
}
module.exports = SummaryReporter;
