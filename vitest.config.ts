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
  // In-process masters with fake workers or speed shells (no timeout to hit), the Lambda demo
  // (no fault at all), and the archive's master killed by its own hook at a step, not mid-task.
  'functions-master', 'speed-master', 'lambda-demo', 'dataset-archive',
].map((name) => `test/integration/${name}.test.ts`);

/**
 * Unit files that start an S3 server (test/support/s3-server.ts) and reach it
 * through the process-wide S3 client and per-bucket stores
 * (src/storage/s3-client.ts, store-path.ts), which keep the first endpoint
 * they saw: each runs in a fresh module graph of its own (`unit-isolated`).
 */
const PROCESS_STATE = [
  'functions/function-code-s3', 'speed/checkpoint-s3', 'storage/object-output-committer', 'storage/object-store-conformance',
  'storage/s3-inputs', 'view/object-version-dir',
].map((name) => `test/unit/${name}.test.ts`);

/**
 * Four projects, so that `npm test` can run them in two lanes side by side
 * (scripts/test-lanes.ts): `integration` in one, `unit`, `unit-isolated` then
 * `integration-results` in the other. Plain `vitest run` runs the unit files
 * first, then every integration file one at a time.
 *
 * `unit` runs without isolation: its files share one worker and one module
 * graph, so src/ is imported once rather than once per file (half the CPU
 * time of the project, which spent more on starting a worker and importing
 * per file than on its tests). A unit file must therefore leave no process
 * state behind (environment, globals, timers); one that relies on state
 * cached in src/ modules goes in PROCESS_STATE.
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 30_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], exclude: [...configDefaults.exclude, ...PROCESS_STATE], isolate: false },
      },
      {
        extends: true,
        test: { name: 'unit-isolated', include: PROCESS_STATE },
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
