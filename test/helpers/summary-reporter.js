// Ends every run with one plain line, "N passed, N failed, N skipped", for CI tools that read the closing line.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    process.stderr.write(`jest: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests + results.numTodoTests} skipped\n`);
  }
}

module.exports = SummaryReporter;
