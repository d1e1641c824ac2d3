import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Integration test files that check results only: no fault is timed in them
 * (no heartbeat timeout, SIGKILL mid-task or task timeout to hit), so they may
 * run beside the `integration` files (scripts/test-lanes.ts). A new
 * integration file runs with the timed ones unless it is listed here.
 *
 * These share one module graph (`integration-results`, isolate: false: src/
 * and its packages imported once, not once per file), so each must leave no
 * process state behind: security configured back to none (access-control,
 * console-api do so in afterAll), no environment, no cluster left running.
 */
const RESULTS_ONLY = [
  'bad-input', 'cli', 'dataset-bad-input', 'dataset-commands', 'dataset-jobs', 'datasets',
  'entries', 'parallel', 'streaming-reference', 'view-build', 'view-output', 'view-publish-crash', 'wordcount', 'access-control',
  'functions-catalog', 'function-triggers', 'console-api', 'function-triggers-e2e',
  // In-process masters with fake workers or speed shells (no timeout to hit), and the Lambda demo (no fault at all).
  'functions-master', 'speed-master', 'lambda-demo',
].map((name) => `test/integration/${name}.test.ts`);

/**
 * Results-only integration files that each need a fresh module graph
 * (`integration-results-isolated`): metrics reads the process's Prometheus
 * registry (src/common/metrics.ts), whose counters other files would have
 * moved; views-s3 and dataset-archive (the archive's master killed by its own
 * hook at a step, not mid-task) start an S3 server and set its endpoint in
 * the environment, which the process-wide S3 client (src/storage/s3-client.ts) keeps once made.
 */
const RESULTS_ALONE = ['metrics', 'views-s3', 'dataset-archive'].map((name) => `test/integration/${name}.test.ts`);

/**
 * Fault-timing integration files that each need a fresh module graph
 * (`integration-isolated`, after the others in the faults lane): they start
 * an S3 server and set its endpoint in the environment, which the
 * process-wide S3 client (src/storage/s3-client.ts) keeps once made.
 */
const FAULTS_ALONE = ['s3-jobs', 'speed-s3'].map((name) => `test/integration/${name}.test.ts`);

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
 * Six projects, so that `npm test` can run them in two lanes side by side
 * (scripts/test-lanes.ts): `integration` and `integration-isolated` in one, `unit`, `unit-isolated`,
 * `integration-results` and `integration-results-isolated` in the other. Plain `vitest run` runs the unit files
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
          // They start real clusters: one file at a time (per lane), in one module graph.
          fileParallelism: false,
          isolate: false,
          // A group of its own (vitest runs groups one after another): not mixed with `unit`'s worker.
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: { name: 'integration-results-isolated', include: RESULTS_ALONE, fileParallelism: false },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          // Every other test file, so a new folder or file of tests runs here by default.
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/unit/**', ...RESULTS_ONLY, ...RESULTS_ALONE, ...FAULTS_ALONE],
          // Integration tests start real clusters, and these time their faults: running
          // the files one at a time keeps them within a 2-core machine and their faults meaningful.
          fileParallelism: false,
          // One module graph for all its files (src/ imported once: about 3 CPU-s a file less), so
          // each file must leave no process state behind; the ones that do are in FAULTS_ALONE.
          isolate: false,
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        // Isolated with maxWorkers 1: vitest runs these after every group, one file at a time.
        test: { name: 'integration-isolated', include: FAULTS_ALONE, fileParallelism: false },
      },
    ],
  },
});
