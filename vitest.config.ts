import { configDefaults, defineConfig } from "vitest/config";

/**
 * Tests that failed a full run and are not fixed yet: kept, run on demand
 * (`BERTH_QUARANTINED=1 npx vitest run --project cluster FILE`), out of `npm test`,
 * since a flaky test is a broken one. Each is named in the README with why.
 */
const QUARANTINED: string[] = [];

export default defineConfig({
  test: {
    // CI also writes JSON results, which .ci/run sums up in one plain line.
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: ".vitest/results.json" },
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          globalSetup: ["test/unit/global-setup.ts"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "cluster",
          include: ["test/cluster/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...(process.env.BERTH_QUARANTINED ? [] : QUARANTINED)],
          globalSetup: ["test/cluster/global-setup.ts"],
          // Cluster tests start real processes and namespaces on a 2-core machine:
          // one file at a time keeps their timing honest.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
