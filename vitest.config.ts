import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "integration",
          include: ["integration/**/*.test.ts"],
          environment: "node",
          globalSetup: ["integration/kit/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Real servers and processes: keep files apart so one suite's load does not starve another's timers.
          fileParallelism: false,
        },
      },
    ],
  },
});
