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
    // One file at a time (vitest's default on two cores). Two at a time cut the suite from 9.6 to
    // about 7 min, but timing-sensitive failover tests then failed 2 fresh-clone CI runs in 6.
    maxWorkers: 1,
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
