import { defineConfig } from "vitest/config";
import base from "./vitest.config.js";

// `make faults`: every scenario of test/faults, the slow ones too, one file at a time (each starts
// its own stack and the scenarios measure recovery times), then the table of all of them.
// Spread, not mergeConfig: that would append to the base's include and exclude lists.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ["test/faults/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    fileParallelism: false,
    testTimeout: 600_000,
    globalSetup: ["./test/faults/support/fault-table.ts"],
  },
});
