import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { attempts, expectSameAsSequential, runningOn, writeCorpus } from './fault-support.js';
import { FIXTURES, JobClient, removeDir, startMasterProc, startWorkerProc, tempDir, waitForStatus, type Proc } from './harness.js';

describe('a worker that shuts down', () => {
  let dir: string;
  const procs: Proc[] = [];
  let client: JobClient | undefined;

  afterEach(async () => {
    client?.close();
    for (const p of procs.splice(0)) await p.kill();
    await removeDir(dir);
  });

  it('tells the master on SIGTERM, and its running attempt is re-run without waiting for the heartbeat timeout', async () => {
    dir = await tempDir();
    // A heartbeat timeout far longer than the test may take: only the goodbye can explain a quick re-run.
    const master = await startMasterProc(dir, { heartbeatTimeoutMs: 120_000 });
    procs.push(master);
    const leaving = await startWorkerProc(master.address, dir, { slots: 1 });
    procs.push(leaving);
    const staying = await startWorkerProc(master.address, dir, { slots: 1 });
    procs.push(staying);
    client = new JobClient(master.address);
    const job = join(FIXTURES, 'jobs', 'slow-map.ts');
    const input = await writeCorpus(join(dir, 'in'), [{ name: 'a.txt', lines: 400 }, { name: 'b.txt', lines: 400 }], { seed: 7 });
    const out = join(dir, 'out');
    const jobId = await client.submit({ job, inputs: [input], output: out, reducers: 2, speculation: false });
    const running = runningOn(await waitForStatus(client, jobId, (s) => runningOn(s, leaving.id, 'map') !== undefined), leaving.id, 'map')!;
    await leaving.kill('SIGTERM');
    const s = await client.wait(jobId, undefined, 100);
    expect(s.state).toBe('SUCCEEDED');
    const left = attempts(s).find((a) => a.attemptId === running.attemptId)!;
    expect(left.state).toBe('KILLED');
    expect(left.failure?.code).toBe('WORKER_LOST');
    // Lost because it said goodbye: the 120 s heartbeat timeout is longer than
    // the test may take, and a timed-out worker's attempts say 'heartbeat'.
    expect(left.failure?.message).toMatch(/the worker left/);
    expect(s.failures).toEqual([]);
    await expectSameAsSequential(job, input, out, 2);
  });
});
