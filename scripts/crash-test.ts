/**
 * Runs the crash test (test/crash/crash-run.ts) N times in a row and prints
 * each run's time and seed, then a closing line `N passed, M failed`; exits 1
 * if any run failed.
 *
 *   npm run crash-test -- --runs 20 [--seed S] [--heartbeat-timeout MS] [--heartbeat-interval MS] [--deadline S] [--keep-logs]
 *                          [--no-shuffle-service]
 *
 * A run fails if its job has not finished --deadline seconds (default 180)
 * after its submission. The master runs with its own defaults (heartbeat
 * timeout 10 000 ms, interval 1000 ms): a killed worker is noticed when its
 * command stream closes, not by the timeout. Each node has a shuffle
 * service that keeps its workers' map outputs across their deaths;
 * --no-shuffle-service runs the workers serving their own outputs instead,
 * for comparison.
 *
 * Run i uses seed S + i (S random unless given), so one failing run is
 * replayed with `--runs 1 --seed <its seed>`.
 */
import { parseArgs } from 'node:util';
import { crashRun } from '../test/crash/crash-run.js';

function positiveInt(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`Expected ${flag} to be a positive integer, got '${v}'`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      seed: { type: 'string' },
      'heartbeat-timeout': { type: 'string' },
      'heartbeat-interval': { type: 'string' },
      'keep-logs': { type: 'boolean' },
      'no-shuffle-service': { type: 'boolean' },
      deadline: { type: 'string' },
    },
  });
  const runs = positiveInt('--runs', values.runs, 1);
  const base = values.seed === undefined ? Math.floor(Math.random() * 1_000_000) : positiveInt('--seed', values.seed, 0);
  const heartbeatTimeoutMs = positiveInt('--heartbeat-timeout', values['heartbeat-timeout'], 10_000);
  const heartbeatIntervalMs = positiveInt('--heartbeat-interval', values['heartbeat-interval'], 1000);
  const deadlineMs = positiveInt('--deadline', values.deadline, 180) * 1000;
  const shuffleService = !values['no-shuffle-service'];
  console.log(`crash test: ${runs} run(s), seeds from ${base}, heartbeat timeout ${heartbeatTimeoutMs} ms, interval ${heartbeatIntervalMs} ms, `
    + `deadline ${deadlineMs / 1000} s, ${shuffleService ? 'a shuffle service per node' : 'workers serving their own map outputs'}`);
  let passed = 0;
  for (let i = 0; i < runs; i++) {
    const r = await crashRun({
      seed: base + i, heartbeatTimeoutMs, heartbeatIntervalMs, deadlineMs, shuffleService, keep: values['keep-logs'] ? 'always' : 'onFailure',
    });
    if (r.passed) passed++;
    console.log(`run ${i + 1}/${runs}: ${r.passed ? 'passed' : 'FAILED'} in ${(r.ms / 1000).toFixed(1)} s `
      + `(seed ${r.seed}, ${r.workerDeaths} worker deaths, a worker registers ${(r.medianBootMs / 1000).toFixed(1)} s after its start; ${r.summary})`);
    if (!r.passed) console.log(`  ${r.problem}`);
    if (!r.passed || values['keep-logs']) console.log(`  logs: ${r.dir}`);
  }
  console.log(`${passed} passed, ${runs - passed} failed`);
  return passed === runs ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
