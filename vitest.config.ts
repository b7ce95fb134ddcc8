import { defineConfig } from "vitest/config";

// Workspace packages resolve to their TypeScript sources under the "@mcic/source" export
// condition, so tests never run against stale build output.
export default defineConfig({
  resolve: { conditions: ["@mcic/source"] },
  ssr: { resolve: { conditions: ["@mcic/source"], externalConditions: ["@mcic/source"] } },
  test: {
    include: [
      "packages/*/src/**/*.test.ts",
      "services/*/src/**/*.test.ts",
      "test/**/*.test.ts",
      "bench/**/*.test.ts",
      "examples/*/src/**/*.test.ts",
    ],
    // Fault scenarios that take minutes run only under `make faults` (vitest.faults.config.ts).
    exclude: ["**/node_modules/**", "**/dist/**", "test/faults/**/*.slow.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // Two files at a time: 7-8 min instead of 9.6 one at a time. The two tests that failed under the
    // doubled load assumed timing (a Sentinel failover that a loaded machine can repeat; a `pending`
    // counter that a killed dispatcher left wrong, now read from the queue instead).
    maxWorkers: 2,
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
