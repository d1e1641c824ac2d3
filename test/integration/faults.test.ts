/**
 * Fault injection: workers killed with SIGKILL mid-map and mid-reduce,
 * workers that join late, user code that throws once or always, heartbeats
 * that stop, and map output that cannot be fetched. Every job that succeeds
 * is compared with a sequential run of the same job module.
 *
 * Crash tests run the master and workers as child processes of the compiled
 * CLI with a 2 s heartbeat timeout; the others use an embedded cluster.
 */
import { afterEach, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../src/common/logger.js';
import { Master } from '../../src/master/master.js';
import { WorkerNode } from '../../src/worker/worker.js';
import { runSequential } from './reference.js';
import {
  EXAMPLES, FIXTURES, GUTENBERG, JobClient, removeDir, startLocal, startMasterProc, startWorkerProc, tempDir, waitForFile, waitForStatus,
  type MasterProc, type Proc,
} from './harness.js';
import {
  attempts, counter, expectSameAsSequential, literal, runCli, runningOn, task, Teardown, writeCorpus,
} from './fault-support.js';

const JOBS = join(FIXTURES, 'jobs');
const SLOW_MAP = join(JOBS, 'slow-map.ts');
const SLOW_REDUCE_LONG = join(JOBS, 'slow-reduce-long.ts');
const FAIL_FIRST = join(JOBS, 'fail-first-attempt.ts');
const ALWAYS_FAILS = join(JOBS, 'always-fails.ts');
/** Worker processes are lost 2 s after their last heartbeat. */
const HEARTBEAT = { heartbeatTimeoutMs: 2000, heartbeatIntervalMs: 250 };

const teardown = new Teardown();
let dir: string;

beforeEach(async () => {
  dir = await tempDir('laminate-faults-');
  teardown.add(() => removeDir(dir));
});
afterEach(() => teardown.run());

function client(address: string): JobClient {
  const c = new JobClient(address);
  teardown.add(() => c.close());
  return c;
}

/** Resolves once the worker process has logged the start of the attempt. */
function started(worker: Proc, attemptId: string): Promise<string> {
  return worker.waitFor(new RegExp(`"attemptId":"${literal(attemptId)}"[^\\n]*"msg":"attempt starting"`));
}

describe('worker processes killed with SIGKILL, and the CLI', () => {
  let master: MasterProc;
  let jobs: JobClient;

  beforeEach(async () => {
    master = await startMasterProc(dir, HEARTBEAT);
    teardown.add(() => master.kill());
    jobs = client(master.address);
    // Which workers the master saw come and go, to tell a fault from a slow machine.
    onTestFailed(() => {
      const lines = master.stderr().split('\n').filter((l) => /worker (lost|registered)|job (failed|succeeded)/.test(l));
      console.error(`master log:\n${lines.join('\n')}`);
    });
  });

  /** n one-slot worker processes, each torn down after the test. */
  async function workers(n: number, env?: Record<string, string>): Promise<Array<Proc & { id: string }>> {
    const settled = await Promise.allSettled(Array.from({ length: n }, () => startWorkerProc(master.address, dir, { slots: 1, ...(env ? { env } : {}) })));
    for (const r of settled) if (r.status === 'fulfilled') teardown.add(() => r.value.kill());
    return settled.map((r) => {
      if (r.status === 'rejected') throw r.reason;
      return r.value;
    });
  }

  it('finishes a job whose worker is killed in the middle of a map, without counting the lost attempt as a failure', async () => {
    const [survivor, victim] = await workers(2);
    // Two maps of about 1.5 s: one on each worker.
    const input = await writeCorpus(join(dir, 'in'), [{ name: 'a.txt', lines: 150 }, { name: 'b.txt', lines: 150 }], { seed: 21 });
    const out = join(dir, 'out');
    const jobId = await jobs.submit({ job: SLOW_MAP, inputs: [input], output: out, reducers: 2, speculation: false });

    const running = runningOn(await waitForStatus(jobs, jobId, (s) => runningOn(s, victim!.id, 'map') !== undefined), victim!.id, 'map')!;
    await started(victim!, running.attemptId);
    await victim!.kill('SIGKILL');

    const s = await jobs.wait(jobId, undefined, 100);
    expect(s.state).toBe('SUCCEEDED');
    const lost = attempts(s).find((a) => a.attemptId === running.attemptId)!;
    expect(lost.state).toBe('KILLED');
    expect(lost.failure?.code).toBe('WORKER_LOST');
    // The task was re-run on the surviving worker after the loss.
    const rerun = task(s, running.taskId).attempts.filter((a) => a.state === 'SUCCEEDED');
    expect(rerun).toHaveLength(1);
    expect(rerun[0]!.workerId).toBe(survivor!.id);
    expect(rerun[0]!.startMs).toBeGreaterThanOrEqual(lost.finishMs);
    // A lost attempt is not a failure of its task.
    expect(s.failures).toEqual([]);
    expect(attempts(s).filter((a) => a.state === 'FAILED')).toEqual([]);
    expect(counter(s, 'FAILED_ATTEMPTS')).toBe(0);
    expect(attempts(s).filter((a) => a.workerId === victim!.id && a.startMs > lost.startMs)).toEqual([]);
    await expectSameAsSequential(SLOW_MAP, input, out, 2);
  });

  it('finishes a job whose worker is killed in the middle of a reduce, re-running the maps it held', async () => {
    // Each reduce attempt marks in this folder when it has fetched all its input.
    const markers = join(dir, 'markers');
    await mkdir(markers);
    const [survivor, victim] = await workers(2, { LAMINATE_TEST_MARKERS: markers });
    // Two quick maps (one per worker), then two reduces of about 1.5 s (one per worker).
    const input = await writeCorpus(join(dir, 'in'), [{ name: 'a.txt', lines: 60 }, { name: 'b.txt', lines: 60 }], { seed: 31 });
    const out = join(dir, 'out');
    const jobId = await jobs.submit({ job: SLOW_REDUCE_LONG, inputs: [input], output: out, reducers: 2, speculation: false });

    // Kill it in its reduce once the other reduce has fetched all it needs:
    // then only the loss itself can bring the dead worker's maps back.
    const before = await waitForStatus(jobs, jobId, (s) => runningOn(s, victim!.id, 'reduce') !== undefined && runningOn(s, survivor!.id, 'reduce') !== undefined);
    const running = runningOn(before, victim!.id, 'reduce')!;
    const other = runningOn(before, survivor!.id, 'reduce')!;
    const heldMaps = attempts(before, 'map').filter((a) => a.workerId === victim!.id && a.state === 'SUCCEEDED');
    expect(heldMaps).not.toHaveLength(0);
    await waitForFile(join(markers, `${other.attemptId}.reducing`));
    await waitForFile(join(markers, `${running.attemptId}.reducing`));
    const killedAt = Date.now();
    await victim!.kill('SIGKILL');

    const s = await jobs.wait(jobId, undefined, 100);
    expect(s.state).toBe('SUCCEEDED');
    const lost = attempts(s).find((a) => a.attemptId === running.attemptId)!;
    expect(lost.state).toBe('KILLED');
    expect(lost.failure?.code).toBe('WORKER_LOST');
    // The reduce ran again once, on the survivor: the maps it needed were re-made
    // before it was launched, so it did not have to fail a fetch first.
    const [, again, ...more] = task(s, running.taskId).attempts;
    expect(more).toEqual([]);
    expect(again!.state).toBe('SUCCEEDED');
    expect(again!.workerId).toBe(survivor!.id);
    // The map outputs on the dead worker were needed again, so their maps ran again on the survivor.
    for (const m of heldMaps) {
      const rerun = task(s, m.taskId).attempts.filter((a) => a.state === 'SUCCEEDED' && a.attemptId !== m.attemptId);
      expect(rerun).toHaveLength(1);
      expect(rerun[0]!.workerId).toBe(survivor!.id);
      expect(rerun[0]!.startMs).toBeGreaterThanOrEqual(killedAt);
      expect(rerun[0]!.finishMs).toBeLessThanOrEqual(again!.startMs);
    }
    expect(s.failures).toEqual([]);
    expect(counter(s, 'FAILED_ATTEMPTS')).toBe(0);
    await expectSameAsSequential(SLOW_REDUCE_LONG, input, out, 2);
  });

  it('fails a job whose map always throws after 4 attempts, and submit --wait exits non-zero with the cause', async () => {
    const [w1, w2] = await workers(2);
    const input = await writeCorpus(join(dir, 'in'), [{ name: 'a.txt', lines: 20 }], { seed: 61 });
    const out = join(dir, 'out');
    const r = await runCli(['submit', '--master', master.address, '--job', ALWAYS_FAILS, '--input', input, '--output', out,
      '--speculation', 'off', '--wait']);
    const jobId = r.stdout.split('\n')[0]!.trim();
    expect(jobId).toMatch(/^job-\d{4}$/);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();

    const s = await jobs.status(jobId);
    expect(s.state).toBe('FAILED');
    const [map, reduce] = s.tasks;
    expect(map!.kind).toBe('map');
    expect(map!.state).toBe('FAILED');
    expect(map!.attempts.map((a) => a.attemptId)).toEqual([1, 2, 3, 4].map((n) => `${map!.taskId}-a${n}`));
    for (const a of map!.attempts) {
      expect(a.state).toBe('FAILED');
      expect(a.failure?.code).toBe('USER_CODE_ERROR');
      expect(a.failure?.message.split('\n')[0]).toBe(`deliberate failure in ${a.attemptId}`);
      expect([w1!.id, w2!.id]).toContain(a.workerId);
      // The CLI printed every attempt's cause.
      expect(r.stderr).toContain(`${a.attemptId} on ${a.workerId}: USER_CODE_ERROR: deliberate failure in ${a.attemptId}`);
    }
    // The first retry went to the other worker.
    expect(map!.attempts[1]!.workerId).not.toBe(map!.attempts[0]!.workerId);
    expect(s.failures.map((f) => f.attemptId)).toEqual(map!.attempts.map((a) => a.attemptId));
    expect(s.message).not.toBe('');
    expect(r.stderr).toContain(`${jobId} FAILED: ${s.message}`);
    expect(reduce!.attempts).toEqual([]);
    expect(existsSync(join(out, '_SUCCESS'))).toBe(false);
    // The sequential run fails the same way.
    await expect(runSequential(ALWAYS_FAILS, [input])).rejects.toThrow('deliberate failure in sequential');
  });
});

/** Its own master (a patient one): the shared one of the block above would be started for nothing. */
describe('a worker process killed with SIGKILL, its master patient', () => {
  it('notices a killed worker from its closed command stream, without waiting for the heartbeat timeout', async () => {
    // A master that would wait two minutes for a silent worker: the job can
    // only finish within the test's minute if the closed stream gave the loss away.
    const patient = await startMasterProc(join(dir, 'patient'), { heartbeatTimeoutMs: 120_000, heartbeatIntervalMs: 250 });
    teardown.add(() => patient.kill());
    onTestFailed(() => console.error(`master log:\n${patient.stderr().split('\n').filter((l) => /worker (lost|registered)|job (failed|succeeded)/.test(l)).join('\n')}`));
    const c = client(patient.address);
    const started2 = await Promise.all([0, 1].map(() => startWorkerProc(patient.address, join(dir, 'patient'), { slots: 1 })));
    for (const w of started2) teardown.add(() => w.kill());
    const [survivor, victim] = started2;
    const input = await writeCorpus(join(dir, 'in'), [{ name: 'a.txt', lines: 150 }, { name: 'b.txt', lines: 150 }], { seed: 22 });
    const out = join(dir, 'out');
    const jobId = await c.submit({ job: SLOW_MAP, inputs: [input], output: out, reducers: 2, speculation: false });
    const running = runningOn(await waitForStatus(c, jobId, (s) => runningOn(s, victim!.id, 'map') !== undefined), victim!.id, 'map')!;
    await started(victim!, running.attemptId);
    await victim!.kill('SIGKILL');

    const s = await c.wait(jobId, undefined, 100);
    expect(s.state).toBe('SUCCEEDED');
    const lost = attempts(s).find((a) => a.attemptId === running.attemptId)!;
    expect(lost.failure?.code).toBe('WORKER_LOST');
    expect(lost.failure?.message).toMatch(/command stream closed/);
    expect(task(s, running.taskId).attempts.find((a) => a.state === 'SUCCEEDED')?.workerId).toBe(survivor!.id);
    expect((await c.workers()).find((w) => w.workerId === victim!.id)?.alive).toBe(false);
    await expectSameAsSequential(SLOW_MAP, input, out, 2);
  });
});

describe('faults on an embedded cluster', () => {
  it('runs a job submitted before any worker joined once workers start', async () => {
    const master = new Master({ port: 0, dataDir: join(dir, 'master'), logger: silentLogger(), heartbeatIntervalMs: 250 });
    await master.start();
    teardown.add(() => master.stop());
    const jobs = client(master.address);
    const input = join(GUTENBERG, 'pg-metamorphosis.txt');
    const job = join(EXAMPLES, 'wordcount.ts');
    const out = join(dir, 'out');
    const jobId = await jobs.submit({ job, inputs: [input], output: out, reducers: 2, splitSize: 32 * 1024, speculation: false });

    const waiting = await jobs.status(jobId);
    expect(waiting.state).toBe('PENDING');
    expect(attempts(waiting)).toEqual([]);
    expect(waiting.message).toMatch(/waiting/);

    const joinedAt = Date.now();
    const late = [1, 2].map((i) => new WorkerNode({ master: master.address, dataDir: join(dir, `late-${i}`), logger: silentLogger(), slots: 1, warmUp: false }));
    for (const w of late) teardown.add(() => w.stop());
    await Promise.all(late.map((w) => w.start()));

    const s = await jobs.wait(jobId, undefined, 100);
    expect(s.state).toBe('SUCCEEDED');
    expect(s.maps!.total).toBeGreaterThanOrEqual(4);
    for (const t of s.tasks) expect(t.attempts).toHaveLength(1);
    for (const a of attempts(s)) {
      expect(late.map((w) => w.id)).toContain(a.workerId);
      expect(a.startMs).toBeGreaterThanOrEqual(joinedAt);
    }
    await expectSameAsSequential(job, input, out, 2);
  });

  it('retries map and reduce tasks that throw on their first attempt, recording each cause', async () => {
    const cluster = await startLocal({ dataDir: join(dir, 'cluster'), workers: 2, slots: 1 });
    teardown.add(() => cluster.stop());
    const jobs = client(cluster.address);
    const input = await writeCorpus(join(dir, 'in'), ['a', 'b', 'c'].map((n) => ({ name: `${n}.txt`, lines: 30 })), { seed: 51 });
    const out = join(dir, 'out');
    const jobId = await jobs.submit({ job: FAIL_FIRST, inputs: [input], output: out, reducers: 2, speculation: false });

    const s = await jobs.wait(jobId, undefined, 100);
    expect(s.state).toBe('SUCCEEDED');
    expect(s.tasks).toHaveLength(5);
    for (const t of s.tasks) {
      expect(t.state).toBe('SUCCEEDED');
      const [first, second, ...rest] = t.attempts;
      expect(rest).toEqual([]);
      expect(first!.attemptId).toBe(`${t.taskId}-a1`);
      expect(first!.state).toBe('FAILED');
      expect(first!.failure?.code).toBe('USER_CODE_ERROR');
      expect(first!.failure?.message.split('\n')[0]).toBe(`injected failure in ${first!.attemptId}`);
      expect(second!.state).toBe('SUCCEEDED');
      expect(second!.failure).toBeNull();
      // Retried on the other worker, since one exists.
      expect(second!.workerId).not.toBe(first!.workerId);
    }
    expect(s.failures.map((f) => f.attemptId).sort()).toEqual(s.tasks.map((t) => `${t.taskId}-a1`).sort());
    expect(counter(s, 'FAILED_ATTEMPTS')).toBe(5);
    // The partial output of the failed attempts is not in the job's output.
    await expectSameAsSequential(FAIL_FIRST, input, out, 2);
  });

  it('re-runs elsewhere the work of a worker whose heartbeats stopped', async () => {
    const cluster = await startLocal({
      dataDir: join(dir, 'cluster'), workers: 2, slots: 2,
      heartbeatIntervalMs: 250, scheduler: { heartbeatTimeoutMs: 1500 },
    });
    teardown.add(() => cluster.stop());
    const [healthy, silent] = cluster.workers;
    const jobs = client(cluster.address);
    // Two maps of about 3 s, well past the 1.5 s heartbeat timeout: one per worker.
    const input = await writeCorpus(join(dir, 'in'), [{ name: 'a.txt', lines: 300 }, { name: 'b.txt', lines: 300 }], { seed: 71 });
    const out = join(dir, 'out');
    const jobId = await jobs.submit({ job: SLOW_MAP, inputs: [input], output: out, reducers: 2, speculation: false });

    const running = runningOn(await waitForStatus(jobs, jobId, (s) => runningOn(s, silent!.id, 'map') !== undefined), silent!.id, 'map')!;
    silent!.pauseHeartbeats();

    const s = await jobs.wait(jobId, undefined, 100);
    expect(s.state).toBe('SUCCEEDED');
    const lost = attempts(s).find((a) => a.attemptId === running.attemptId)!;
    expect(lost.state).toBe('KILLED');
    expect(lost.failure?.code).toBe('WORKER_LOST');
    expect(lost.failure?.message).toMatch(/heartbeat/);
    const rerun = task(s, running.taskId).attempts.filter((a) => a.state === 'SUCCEEDED');
    expect(rerun.map((a) => a.workerId)).toEqual([healthy!.id]);
    expect(rerun[0]!.startMs).toBeGreaterThanOrEqual(lost.finishMs);
    // Once lost, the silent worker got no more work, though it kept running.
    expect(attempts(s).filter((a) => a.workerId === silent!.id && a.startMs > lost.startMs)).toEqual([]);
    expect(s.failures).toEqual([]);
    await expectSameAsSequential(SLOW_MAP, input, out, 2);
  });

  it('re-runs a map whose output a reducer cannot fetch', async () => {
    const cluster = await startLocal({ dataDir: join(dir, 'cluster'), workers: 2, slots: 1 });
    teardown.add(() => cluster.stop());
    const jobs = client(cluster.address);
    // A quick map and a slow one (about 2 s): the quick one's output waits on disk for the reducers.
    const input = await writeCorpus(join(dir, 'in'), [{ name: 'a.txt', lines: 10 }, { name: 'b.txt', lines: 200 }], { seed: 81 });
    const out = join(dir, 'out');
    const jobId = await jobs.submit({ job: SLOW_MAP, inputs: [input], output: out, reducers: 2, speculation: false });

    const mid = await waitForStatus(jobs, jobId, (s) => attempts(s, 'map').some((a) => a.state === 'SUCCEEDED')
      && attempts(s, 'map').some((a) => a.state === 'RUNNING'));
    const done = attempts(mid, 'map').find((a) => a.state === 'SUCCEEDED')!;
    const holder = cluster.workers.findIndex((w) => w.id === done.workerId);
    const outputFile = join(dir, 'cluster', `worker-${holder + 1}`, 'jobs', jobId, `${done.attemptId}.out`);
    expect((await stat(outputFile)).isFile()).toBe(true);
    await rm(outputFile);
    // The output was lost before any reducer asked for it.
    expect(attempts(await jobs.status(jobId), 'reduce')).toEqual([]);

    const s = await jobs.wait(jobId, undefined, 100);
    expect(s.state).toBe('SUCCEEDED');
    const refetched = attempts(s, 'reduce').filter((a) => a.failure?.message.includes('fetch failed'));
    expect(refetched).not.toHaveLength(0);
    for (const a of refetched) {
      expect(a.state).toBe('KILLED');
      expect(a.failure?.message).toContain(done.attemptId);
    }
    const mapRuns = task(s, done.taskId).attempts.filter((a) => a.state === 'SUCCEEDED');
    expect(mapRuns.map((a) => a.attemptId)).toEqual([done.attemptId, `${done.taskId}-a2`]);
    // Every reduce finished after the map ran again.
    for (const t of s.tasks.filter((x) => x.kind === 'reduce')) {
      const ok = t.attempts.filter((a) => a.state === 'SUCCEEDED');
      expect(ok).toHaveLength(1);
      expect(ok[0]!.startMs).toBeGreaterThanOrEqual(mapRuns[1]!.finishMs);
    }
    expect(s.failures).toEqual([]);
    await expectSameAsSequential(SLOW_MAP, input, out, 2);
  });
});
