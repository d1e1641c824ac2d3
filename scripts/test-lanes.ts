/**
 * The checks of `npm test` after `tsc` has compiled dist/, in two lanes that
 * run side by side, each a series of child processes:
 *
 * - `faults`: the `integration` and `integration-isolated` vitest projects, one file at a time (real
 *   clusters whose faults are timed); its output streams as it runs.
 * - `checks`: eslint, then the `unit`, `unit-isolated`, `integration-results` and
 *   `integration-results-isolated` projects
 *   (vitest.config.ts); its output is shown in one block when it ends, so
 *   that the two lanes' reporters do not interleave.
 *
 * On 2 cores the faults lane mostly waits (on slow maps, heartbeats, child
 * processes), so the checks lane fits beside it: the whole takes about as
 * long as the faults lane alone. Each lane holds at most one vitest worker
 * (vitest's default on 2 cores), so at most two test files run at once, and
 * only one of them times faults. Every step runs even if another failed, so
 * one run reports every failure; the exit code is 1 if any step failed.
 * `node dist/scripts/test-lanes.js [lane...]` runs only the named lanes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface Step {
  readonly name: string;
  /** The script node runs, and its arguments. */
  readonly script: string;
  readonly args: readonly string[];
}

interface Lane {
  readonly name: string;
  readonly steps: readonly Step[];
  /** Stream the output as it comes (one lane only); the others are shown when they end. */
  readonly stream: boolean;
}

interface StepResult {
  readonly lane: string;
  readonly step: string;
  /** The exit code; null when a signal ended the step. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly seconds: number;
}

const require = createRequire(import.meta.url);
const binOf = (pkg: string, bin: string): string => join(dirname(require.resolve(`${pkg}/package.json`)), bin);
const VITEST = binOf('vitest', 'vitest.mjs');
const ESLINT = binOf('eslint', join('bin', 'eslint.js'));

const LANES: readonly Lane[] = [
  {
    name: 'faults', stream: true,
    steps: [{ name: 'vitest integration', script: VITEST, args: ['run', '--project', 'integration', '--project', 'integration-isolated'] }],
  },
  {
    name: 'checks',
    stream: false,
    steps: [
      { name: 'eslint', script: ESLINT, args: ['.'] },
      {
        name: 'vitest unit, unit-isolated, integration-results', script: VITEST,
        args: ['run', '--project', 'unit', '--project', 'unit-isolated', '--project', 'integration-results', '--project', 'integration-results-isolated'],
      },
    ],
  },
];

const running = new Set<ChildProcess>();

/** Runs one step, its output to `output` (or straight to this process's). */
function runStep(lane: Lane, step: Step, output: Buffer[] | undefined): Promise<StepResult> {
  const started = Date.now();
  const child = spawn(process.execPath, [step.script, ...step.args], { stdio: output ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
  running.add(child);
  // Both streams into one list, in the order they came.
  child.stdout?.on('data', (d: Buffer) => output?.push(d));
  child.stderr?.on('data', (d: Buffer) => output?.push(d));
  return new Promise((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      running.delete(child);
      resolve({ lane: lane.name, step: step.name, code, signal, seconds: (Date.now() - started) / 1000 });
    };
    // 'close' comes after the pipes have drained, so no output is lost.
    child.once('close', done);
    child.once('error', (err) => {
      const line = Buffer.from(`${step.name}: could not start ${step.script}: ${err.message}\n`);
      if (output) output.push(line);
      else process.stderr.write(line);
      done(1, null);
    });
  });
}

async function runLane(lane: Lane): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const step of lane.steps) {
    const output = lane.stream ? undefined : [];
    results.push(await runStep(lane, step, output));
    if (output) {
      process.stdout.write(`\n----- ${lane.name}: ${step.name} -----\n`);
      process.stdout.write(Buffer.concat(output));
    }
  }
  return results;
}

/** Ctrl-C or a CI timeout: pass the signal on, so that no step's clusters outlive the run. */
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const child of running) child.kill(signal);
  });
}

async function main(): Promise<number> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !LANES.some((l) => l.name === w));
  if (unknown.length > 0) {
    console.error(`Expected lanes among ${LANES.map((l) => l.name).join(', ')}, got ${unknown.join(', ')}`);
    return 2;
  }
  const lanes = wanted.length === 0 ? LANES : LANES.filter((l) => wanted.includes(l.name));
  const results = (await Promise.all(lanes.map(runLane))).flat();
  console.log('\n----- test lanes -----');
  for (const r of results) {
    const outcome = r.code === 0 ? 'passed' : r.signal ? `ended by ${r.signal}` : `FAILED (exit ${String(r.code)})`;
    console.log(`${`${r.lane}: ${r.step}`.padEnd(44)} ${outcome.padEnd(20)} ${r.seconds.toFixed(1)} s`);
  }
  return results.every((r) => r.code === 0) ? 0 : 1;
}

process.exitCode = await main();
