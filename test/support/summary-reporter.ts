import type { Reporter, TestModule } from "vitest/node";

/**
 * Ends the run with the plain line CI reads ("N passed, N failed"), since vitest's own summary
 * is not a format CI knows.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      // A failed set-up hook leaves its tests unrun: they count as failed, not as skipped.
      const moduleFailed = mod.state() === "failed";
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed" || moduleFailed) failed++;
        else skipped++;
      }
      if (moduleFailed && [...mod.children.allTests()].length === 0) failed++;
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
  }
}
