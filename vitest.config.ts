import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Integration test files that check results only: no fault is timed in them
 * (no heartbeat timeout, SIGKILL mid-task or task timeout to hit), so they may
 * run beside the `integration` files (scripts/test-lanes.ts). A new
 * integration file runs with the timed ones unless it is listed here.
 */
const RESULTS_ONLY = [
  'bad-input', 'cli', 'dataset-bad-input', 'dataset-commands', 'dataset-jobs', 'datasets',
  'entries', 'parallel', 'streaming-reference', 'view-build', 'view-output', 'wordcount', 'access-control', 'metrics',
  'functions-catalog', 'function-triggers', 'console-api', 'views-s3', 'function-triggers-e2e',
].map((name) => `test/integration/${name}.test.ts`);

/**
 * Three projects, so that `npm test` can run them in two lanes side by side
 * (scripts/test-lanes.ts): `integration` in one, `unit` then
 * `integration-results` in the other. Plain `vitest run` runs the unit files
 * first, then every integration file one at a time.
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 30_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration-results',
          include: RESULTS_ONLY,
          // They start real clusters: one file at a time (per lane).
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          // Every other test file, so a new folder or file of tests runs here by default.
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/unit/**', ...RESULTS_ONLY],
          // Integration tests start real clusters, and these time their faults: running
          // the files one at a time keeps them within a 2-core machine and their faults meaningful.
          fileParallelism: false,
        },
      },
    ],
  },
});
