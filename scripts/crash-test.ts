/**
 * Runs the crash test (test/crash/crash-run.ts) N times in a row and prints
 * each run's time and seed, then a closing line `N passed, M failed`; exits 1
 * if any run failed.
 *
 *   npm run crash-test -- --runs 20 [--seed S] [--heartbeat-timeout MS] [--heartbeat-interval MS] [--deadline S] [--keep-logs]
 *
 * A run fails if its job has not finished --deadline seconds (default 180)
 * after its submission; the master's heartbeat timeout defaults to 2000 ms
 * here (10 000 ms is the master's own default) until a dead worker is noticed
 * when its connection closes.
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
      deadline: { type: 'string' },
    },
  });
  const runs = positiveInt('--runs', values.runs, 1);
  const base = values.seed === undefined ? Math.floor(Math.random() * 1_000_000) : positiveInt('--seed', values.seed, 0);
  const heartbeatTimeoutMs = positiveInt('--heartbeat-timeout', values['heartbeat-timeout'], 2000);
  const heartbeatIntervalMs = positiveInt('--heartbeat-interval', values['heartbeat-interval'], 250);
  const deadlineMs = positiveInt('--deadline', values.deadline, 180) * 1000;
  console.log(`crash test: ${runs} run(s), seeds from ${base}, heartbeat timeout ${heartbeatTimeoutMs} ms, interval ${heartbeatIntervalMs} ms, deadline ${deadlineMs / 1000} s`);
  let passed = 0;
  for (let i = 0; i < runs; i++) {
    const r = await crashRun({ seed: base + i, heartbeatTimeoutMs, heartbeatIntervalMs, deadlineMs, keep: values['keep-logs'] ? 'always' : 'onFailure' });
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
