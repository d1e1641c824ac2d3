/**
 * One run of the crash test, in the manner of MIT 6.824's MapReduce crash
 * test: a master and 3 one-slot workers as real child processes of the
 * compiled CLI; the job (test/fixtures/jobs/crash-wordcount.ts) kills its own
 * worker process on a third of its calls and stalls on another third; each
 * worker is started again, with a fresh data folder, one second after it
 * dies. The run passes if the job commits output equal to a sequential word
 * count of the same texts.
 *
 * Each worker has a node of its own, with the node's shuffle service (a
 * `laminate shuffle-service` process for the whole run, as a NodeManager's
 * auxiliary service outlives its containers); every generation of the worker
 * writes its map outputs to it, so a worker's death does not take its
 * finished maps along (6.824's workers share a folder for the same reason).
 *
 * Used by test/integration/crash.test.ts (one run, fixed seed, in npm test)
 * and by scripts/crash-test.ts (`npm run crash-test -- --runs N`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { JobClient } from '../../src/client/job-client.js';
import { packageRoot } from '../../src/common/package-root.js';
import type { JobStatus } from '../../src/common/job-status.js';
import { byKey, readOutput, runSequential } from '../integration/reference.js';

const ROOT = packageRoot();
/** The compiled CLI every process of the run is started from: the one line to change if it moves. */
export const CLI = join(ROOT, 'bin', 'laminate.cjs');
export const CRASH_JOB = join(ROOT, 'test', 'fixtures', 'jobs', 'crash-wordcount.ts');
/** The plain word count the output is checked against: compiled when this module is (node cannot import .ts). */
const WORDCOUNT = import.meta.url.endsWith('.ts') ? join(ROOT, 'examples', 'wordcount.ts') : join(ROOT, 'dist', 'examples', 'wordcount.js');
const GUTENBERG = join(ROOT, 'data', 'gutenberg');

export const WORKERS = 3;
export const REDUCERS = 10;
/** A worker is started again this long after it died (the 6.824 test's restart delay). */
const RESTART_DELAY_MS = 1000;

export interface CrashRunOptions {
  /** Seeds every call's fate (with the attempt id); printed so that a failing run can be replayed. */
  readonly seed: number;
  /** The master's --heartbeat-timeout. Default 10 000 ms, the master's own: a killed worker is noticed when its stream closes. */
  readonly heartbeatTimeoutMs?: number;
  /** The master's --heartbeat-interval. Default 1000 ms, the master's own. */
  readonly heartbeatIntervalMs?: number;
  /** The run fails if the job has not finished this long after its submission. Default 180 s. */
  readonly deadlineMs?: number;
  /** When to keep the run's folder (logs of every process). Default 'onFailure'. */
  readonly keep?: 'never' | 'onFailure' | 'always';
  /** Run a shuffle service per node and attach the workers to it. Default true; false: workers serve their own outputs. */
  readonly shuffleService?: boolean;
}

export interface CrashRunResult {
  readonly seed: number;
  readonly passed: boolean;
  /** From submission to the job's end (or the deadline). */
  readonly ms: number;
  /** The job's final state, or RUNNING at the deadline. */
  readonly state: string;
  /** Worker processes that died during the run. */
  readonly workerDeaths: number;
  /** The median time from starting a worker process to its registration with the master. */
  readonly medianBootMs: number;
  /** Why the run failed: the job's message, its failures, or how the output differed. */
  readonly problem: string;
  /** One line on the attempts the job made. */
  readonly summary: string;
  /** The run's folder, with a log per process; kept as CrashRunOptions.keep says. */
  readonly dir: string;
}

/** Thrown from the progress callback to stop waiting for a job past its deadline. */
class PastDeadline extends Error {}

let reference: Promise<string[]> | undefined;

/** The sequential word count of the texts, lines in key order (computed once per process). */
function expectedLines(): Promise<string[]> {
  reference ??= runSequential(WORDCOUNT, [GUTENBERG], 'text');
  return reference;
}

/** A child process of the CLI, its stdout and stderr appended to `log`. */
function startCli(args: string[], log: WriteStream, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT, env: { ...process.env, LAMINATE_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  return child;
}

const exited = (child: ChildProcess): Promise<void> => new Promise((resolve) => {
  if (child.exitCode !== null || child.signalCode !== null) resolve();
  else child.once('exit', () => resolve());
});

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited(child);
}

/** The address a master or shuffle service (`what`) prints once it listens. */
function listeningAddress(child: ChildProcess, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = new RegExp(`${what} listening on (\\S+)`).exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code, signal) => reject(new Error(`the ${what} exited before listening (code ${code}, signal ${signal})`)));
  });
}

interface RunState {
  deaths: number;
  readonly live: Set<ChildProcess>;
  /** Per started worker, ms from its start to its registration. */
  readonly boots: number[];
}

/**
 * Keeps worker `k` up: starts it, and each time it dies starts a fresh one
 * (new data folder, same node's shuffle service if any) RESTART_DELAY_MS
 * later, until `signal` aborts.
 */
async function superviseWorker(k: number, master: string, shuffleService: string | undefined, dir: string, seed: number, signal: AbortSignal, run: RunState): Promise<void> {
  for (let generation = 1; !signal.aborted; generation++) {
    const name = `worker-${k}-${generation}`;
    const log = createWriteStream(join(dir, `${name}.log`));
    const child = startCli(['worker', '--master', master, '--slots', '1', '--memory', '1024', '--data', join(dir, name),
      ...(shuffleService ? ['--shuffle-service', shuffleService] : [])], log, { LAMINATE_CRASH_SEED: String(seed) });
    run.live.add(child);
    const spawned = Date.now();
    // Logs go to stderr, one JSON line each.
    const onData = (d: Buffer): void => {
      if (!d.toString().includes('"msg":"registered"')) return;
      run.boots.push(Date.now() - spawned);
      child.stderr!.off('data', onData);
    };
    child.stderr!.on('data', onData);
    await exited(child);
    run.live.delete(child);
    log.end();
    if (signal.aborted) return;
    run.deaths++;
    await sleep(RESTART_DELAY_MS, undefined, { signal }).catch(() => {});
  }
}

function attemptSummary(s: JobStatus): string {
  const all = s.tasks.flatMap((t) => t.attempts.map((a) => ({ ...a, kind: t.kind })));
  const count = (kind: string): string => {
    const list = all.filter((a) => a.kind === kind);
    const by = (state: string): number => list.filter((a) => a.state === state).length;
    return `${kind} attempts ${list.length} (${by('SUCCEEDED')} ok, ${by('KILLED')} killed, ${by('FAILED')} failed, `
      + `${list.filter((a) => a.speculative).length} speculative)`;
  };
  const reasons = new Map<string, number>();
  for (const a of all) {
    if (!a.failure) continue;
    const reason = a.failure.message.replace(/worker-\d+/g, 'worker-N').replace(/job-\d+-[mr]-\d+-a\d+/g, 'ATTEMPT').slice(0, 80);
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  const top = [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([r, n]) => `${n}x ${r}`).join('; ');
  return `${count('map')}, ${count('reduce')}${top ? `; ends: ${top}` : ''}`;
}

/** How the committed output differs from the sequential word count, or '' if it does not. */
async function outputProblem(out: string): Promise<string> {
  const names = (await readdir(out)).sort();
  const parts = Array.from({ length: REDUCERS }, (_, i) => `part-${String(i).padStart(5, '0')}`);
  const want = [...parts, '_SUCCESS'].sort();
  if (names.join() !== want.join()) return `expected the output folder to hold ${want.join(', ')}; got ${names.join(', ')}`;
  const got = [...(await readOutput(out)).lines].sort(byKey);
  const expected = await expectedLines();
  if (got.length === expected.length && got.every((l, i) => l === expected[i])) return '';
  const have = new Set(got);
  const wanted = new Set(expected);
  const missing = expected.filter((l) => !have.has(l));
  const extra = got.filter((l) => !wanted.has(l));
  return `output differs from the sequential word count: ${missing.length} lines missing (e.g. ${JSON.stringify(missing.slice(0, 3))}), `
    + `${extra.length} unexpected (e.g. ${JSON.stringify(extra.slice(0, 3))}), ${got.length} lines against ${expected.length}`;
}

/** Runs the crash test once; never throws for a failed job, only for a broken harness. */
export async function crashRun(o: CrashRunOptions): Promise<CrashRunResult> {
  const dir = await mkdtemp(join(tmpdir(), 'laminate-crash-'));
  const stop = new AbortController();
  const run: RunState = { deaths: 0, live: new Set(), boots: [] };
  const masterLog = createWriteStream(join(dir, 'master.log'));
  const master = startCli(['master', '--port', '0', '--data', join(dir, 'master'),
    '--heartbeat-timeout', String(o.heartbeatTimeoutMs ?? 10_000), '--heartbeat-interval', String(o.heartbeatIntervalMs ?? 1000)], masterLog, {});
  const supervisors: Array<Promise<void>> = [];
  const services: ChildProcess[] = [];
  const serviceLogs: WriteStream[] = [];
  let client: JobClient | undefined;
  let passed = false;
  try {
    const address = await listeningAddress(master, 'master');
    // One shuffle service per node, for the whole run.
    const nodes = Array.from({ length: WORKERS }, (_, i) => i + 1);
    const serviceAddresses = (o.shuffleService ?? true) ? await Promise.all(nodes.map((k) => {
      const log = createWriteStream(join(dir, `shuffle-service-${k}.log`));
      serviceLogs.push(log);
      const child = startCli(['shuffle-service', '--port', '0', '--data', join(dir, `node-${k}`)], log, {});
      services.push(child);
      return listeningAddress(child, 'shuffle service');
    })) : [];
    for (const k of nodes) supervisors.push(superviseWorker(k, address, serviceAddresses[k - 1], dir, o.seed, stop.signal, run));
    client = new JobClient(address);
    const out = join(dir, 'out');
    const deadlineMs = o.deadlineMs ?? 180_000;
    const started = Date.now();
    const jobId = await client.submit({ job: CRASH_JOB, inputs: [GUTENBERG], output: out, reducers: REDUCERS, format: 'whole', name: `crash-${o.seed}` });
    let s: JobStatus;
    try {
      s = await client.wait(jobId, () => {
        if (Date.now() - started > deadlineMs) throw new PastDeadline();
      }, 250);
    } catch (err) {
      if (!(err instanceof PastDeadline)) throw err;
      s = await client.status(jobId);
      await client.kill(jobId);
    }
    const ms = Date.now() - started;
    let problem: string;
    if (s.state === 'SUCCEEDED') problem = await outputProblem(out);
    else if (s.state === 'RUNNING' || s.state === 'PENDING') problem = `still ${s.state} after ${Math.round(deadlineMs / 1000)} s: maps ${JSON.stringify(s.maps)}, reduces ${JSON.stringify(s.reduces)}`;
    else {
      const failures = s.failures.map((f) => `${f.attemptId} on ${f.workerId}: ${f.code} ${f.message}`).slice(-5).join('; ');
      problem = `job ${s.state}: ${s.message}${failures ? ` (last failures: ${failures})` : ''}`;
    }
    passed = problem === '';
    const boots = [...run.boots].sort((a, b) => a - b);
    const medianBootMs = boots[boots.length >> 1] ?? 0;
    return { seed: o.seed, passed, ms, state: s.state, workerDeaths: run.deaths, medianBootMs, problem, summary: attemptSummary(s), dir };
  } finally {
    client?.close();
    stop.abort();
    await Promise.all([...run.live].map(stopChild));
    await Promise.all(supervisors);
    await Promise.all(services.map(stopChild));
    for (const log of serviceLogs) log.end();
    await stopChild(master);
    masterLog.end();
    const keep = o.keep ?? 'onFailure';
    if (keep === 'never' || keep === 'onFailure' && passed) await rm(dir, { recursive: true, force: true });
  }
}
