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
    // Two files at a time: most of an end-to-end file's time is spent waiting on processes and
    // deadlines, so a second file nearly halves the suite (vitest's default is one on two cores).
    maxWorkers: 2,
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
