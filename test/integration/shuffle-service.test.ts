/**
 * Workers on nodes' shuffle services, as real processes of the compiled CLI:
 * a worker SIGKILLed after its maps finished leaves their outputs on its
 * service, and they are fetched from there instead of being made again; a
 * shuffle service SIGKILLed in turn is found out by the reducers' fetches,
 * and the maps it held run again. Every job's output is compared with a
 * sequential run of the same job.
 */
import { afterEach, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FIXTURES, JobClient, removeDir, startMasterProc, startShuffleServiceProc, startWorkerProc, tempDir, waitForFile, waitForStatus,
  type MasterProc, type Proc,
} from './harness.js';
import { attempts, expectSameAsSequential, runningOn, task, Teardown, writeCorpus } from './fault-support.js';

const JOBS = join(FIXTURES, 'jobs');
const SLOW_MAP = join(JOBS, 'slow-map.ts');
const SLOW_REDUCE_LONG = join(JOBS, 'slow-reduce-long.ts');

const teardown = new Teardown();
let dir: string;
let master: MasterProc;
let jobs: JobClient;

beforeEach(async () => {
  dir = await tempDir('laminate-shuffle-');
  teardown.add(() => removeDir(dir));
  master = await startMasterProc(dir, { heartbeatTimeoutMs: 2000, heartbeatIntervalMs: 250 });
  teardown.add(() => master.kill());
  jobs = new JobClient(master.address);
  teardown.add(() => jobs.close());
  onTestFailed(() => {
    const lines = master.stderr().split('\n').filter((l) => /worker (lost|registered|leaving)|job (failed|succeeded)|fetch/.test(l));
    console.error(`master log:\n${lines.join('\n')}`);
  });
});
afterEach(() => teardown.run());

/** A shuffle service process, torn down after the test. */
async function service(name: string): Promise<Proc & { address: string; dir: string }> {
  const s = await startShuffleServiceProc(dir, name);
  teardown.add(() => s.kill());
  return s;
}

/** A one-slot worker process on the shuffle service at `shuffleService`, torn down after the test. */
async function worker(shuffleService: string, env?: Record<string, string>): Promise<Proc & { id: string }> {
  const w = await startWorkerProc(master.address, dir, { slots: 1, shuffleService, ...(env ? { env } : {}) });
  teardown.add(() => w.kill());
  return w;
}

describe('a worker on its node\'s shuffle service', () => {
  it('leaves its finished map outputs behind when SIGKILLed: they are fetched from the service, not made again', async () => {
    const markers = join(dir, 'markers');
    await mkdir(markers);
    const [nodeA, nodeB] = await Promise.all([service('node-a'), service('node-b')]);
    const env = { LAMINATE_TEST_MARKERS: markers };
    const [victim, survivor] = await Promise.all([worker(nodeA.address, env), worker(nodeB.address, env)]);
    // Two quick maps (one per worker), then two reduces of about 1.5 s (one per worker).
    const input = await writeCorpus(join(dir, 'in'), [{ name: 'a.txt', lines: 60 }, { name: 'b.txt', lines: 60 }], { seed: 41 });
    const out = join(dir, 'out');
    const jobId = await jobs.submit({ job: SLOW_REDUCE_LONG, inputs: [input], output: out, reducers: 2, speculation: false });

    // Kill the victim in its reduce, its map long done: the reduce's next
    // attempt must fetch the victim's map output after the victim is gone.
    const before = await waitForStatus(jobs, jobId, (s) => runningOn(s, victim.id, 'reduce') !== undefined && runningOn(s, survivor.id, 'reduce') !== undefined);
    const lostReduce = runningOn(before, victim.id, 'reduce')!;
    const heldMaps = attempts(before, 'map').filter((a) => a.workerId === victim.id && a.state === 'SUCCEEDED');
    expect(heldMaps).not.toHaveLength(0);
    await waitForFile(join(markers, `${lostReduce.attemptId}.reducing`));
    const killedAt = Date.now();
    await victim.kill('SIGKILL');
    // The worker starts again on its node, with a fresh folder: a new id on the same service.
    const restarted = await worker(nodeA.address, env);
    expect(restarted.id).not.toBe(victim.id);

    const s = await jobs.wait(jobId, undefined, 100);
    expect(s.state).toBe('SUCCEEDED');
    // No map ran twice: the dead worker's outputs were still there.
    for (const t of s.tasks.filter((x) => x.kind === 'map')) {
      expect(t.attempts.map((a) => a.state)).toEqual(['SUCCEEDED']);
    }
    for (const m of heldMaps) expect(task(s, m.taskId).attempts[0]!.workerId).toBe(victim.id);
    // The lost reduce ran again after the kill, and nothing failed to fetch.
    const [first, again, ...more] = task(s, lostReduce.taskId).attempts;
    expect(more).toEqual([]);
    expect(first).toMatchObject({ state: 'KILLED', failure: { code: 'WORKER_LOST' } });
    expect(again!.state).toBe('SUCCEEDED');
    expect(again!.startMs).toBeGreaterThanOrEqual(killedAt);
    expect(attempts(s).filter((a) => a.failure?.code === 'FETCH_FAILED')).toEqual([]);
    expect(s.failures).toEqual([]);
    await expectSameAsSequential(SLOW_REDUCE_LONG, input, out, 2);
    const listed = await jobs.workers();
    expect(listed.find((w) => w.workerId === victim.id)).toMatchObject({ alive: false, externalShuffle: true, shuffleAddress: nodeA.address });

    // The job's files leave both services once the master has said it ended.
    await Promise.all([nodeA, nodeB].map((n) => n.waitFor(new RegExp(`"jobs":\\["${jobId}"\\][^\\n]*removed the map outputs of ended jobs`))));
    for (const n of [nodeA, nodeB]) expect(existsSync(join(n.dir, 'jobs', jobId))).toBe(false);
  });
});

describe('a shuffle service SIGKILLed', () => {
  it('is found out by the reducers\' fetches: the maps whose outputs it held run again elsewhere, and the job succeeds', async () => {
    const nodes = await Promise.all([service('node-a'), service('node-b')]);
    const workers = await Promise.all(nodes.map((n) => worker(n.address)));
    // A quick map and a slow one (about 2 s): the quick one's output waits on its service.
    const input = await writeCorpus(join(dir, 'in'), [{ name: 'a.txt', lines: 10 }, { name: 'b.txt', lines: 200 }], { seed: 42 });
    const out = join(dir, 'out');
    const jobId = await jobs.submit({ job: SLOW_MAP, inputs: [input], output: out, reducers: 2, speculation: false });

    const mid = await waitForStatus(jobs, jobId, (s) => attempts(s, 'map').some((a) => a.state === 'SUCCEEDED')
      && attempts(s, 'map').some((a) => a.state === 'RUNNING'));
    const done = attempts(mid, 'map').find((a) => a.state === 'SUCCEEDED')!;
    const k = workers.findIndex((w) => w.id === done.workerId);
    const [holder, other] = [workers[k]!, workers[1 - k]!];
    const killedAt = Date.now();
    await nodes[k]!.kill('SIGKILL');
    // Its worker sees the service go and leaves the master until it is back.
    await holder.waitFor(/the shuffle service went away: leaving the master/);

    const s = await jobs.wait(jobId, undefined, 100);
    expect(s.state).toBe('SUCCEEDED');
    // A reducer could not fetch the output from the dead service...
    const refetched = attempts(s, 'reduce').filter((a) => a.failure?.code === 'FETCH_FAILED');
    expect(refetched).not.toHaveLength(0);
    for (const a of refetched) {
      expect(a.state).toBe('KILLED');
      expect(a.failure?.message).toContain(done.attemptId);
    }
    // ...so the map ran again, on the other node, and every reduce used the new output.
    const mapRuns = task(s, done.taskId).attempts.filter((a) => a.state === 'SUCCEEDED');
    expect(mapRuns).toHaveLength(2);
    expect(mapRuns[1]).toMatchObject({ workerId: other.id });
    expect(mapRuns[1]!.startMs).toBeGreaterThanOrEqual(killedAt);
    for (const t of s.tasks.filter((x) => x.kind === 'reduce')) {
      const ok = t.attempts.filter((a) => a.state === 'SUCCEEDED');
      expect(ok).toHaveLength(1);
      expect(ok[0]!.startMs).toBeGreaterThanOrEqual(mapRuns[1]!.finishMs);
    }
    expect(s.failures).toEqual([]);
    expect((await jobs.workers()).find((w) => w.workerId === holder.id)?.alive).toBe(false);
    await expectSameAsSequential(SLOW_MAP, input, out, 2);
  });
});
