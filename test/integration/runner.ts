/**
 * A tiny test runner for the extension host, where `node:test` does not run: async test functions,
 * one after another; the first failure stops the run and is thrown with the test's name.
 * Loading this module does nothing (it is also loaded by `node --test out/test/`).
 */

export interface TestCase {
  name: string;
  fn: () => unknown | Promise<unknown>;
}

/** Writes a line to the console and, when `LSTM_LAB_INTEGRATION_REPORT` names a file, appends it there. */
export function report(line: string): void {
  console.log(line);
  const file = process.env.LSTM_LAB_INTEGRATION_REPORT;
  if (file) {
    // Required lazily: the runner itself needs nothing from Node beyond this.
    const fs = require('fs') as typeof import('fs');
    fs.appendFileSync(file, line + '\n');
  }
}

export class IntegrationTestFailure extends Error {}

/** Runs the tests in order; throws an IntegrationTestFailure naming the first that fails. */
export async function runSequentially(suite: string, tests: TestCase[]): Promise<void> {
  report(`# ${suite}: ${tests.length} tests`);
  let passed = 0;
  for (const [i, t] of tests.entries()) {
    const started = Date.now();
    try {
      await t.fn();
    } catch (err) {
      const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
      report(`not ok ${i + 1} - ${t.name} (${Date.now() - started} ms)`);
      for (const line of detail.split('\n')) report(`#   ${line}`);
      report(`# ${tests.length - i - 1} not run after the failure`);
      report(`integration: ${passed} passed, 1 failed`);
      throw new IntegrationTestFailure(`integration test failed: "${t.name}": ${err instanceof Error ? err.message : String(err)}`);
    }
    passed++;
    report(`ok ${i + 1} - ${t.name} (${Date.now() - started} ms)`);
  }
  report(`integration: ${passed} passed, 0 failed`);
}
