import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LaminateClient } from '../../src/client/index.js';
import { readOutput } from './reference.js';
import { FIXTURES, freePort, JobClient, removeDir, startMasterProc, startWorkerProc, tempDir, waitForStatus, type Proc } from './harness.js';

const JOB = join(FIXTURES, 'jobs', 'dataset-count-slow.ts');

/** What dataset-count.ts outputs for the records of `events` before `cut`, counted here from a read-back. */
async function expectedOutput(client: LaminateClient, cut: readonly number[]): Promise<string[]> {
  const counts = new Map<string, number>();
  const add = (k: string): void => { counts.set(k, (counts.get(k) ?? 0) + 1); };
  const lines: string[] = [];
  for (let partition = 0; partition < cut.length; partition++) {
    for await (const r of client.read('events', { partition, endOffset: cut[partition]! })) {
      const e = r.record as { id: number; user: string; text: string };
      add(`user:${e.user}`);
      for (const w of e.text.split(' ')) add(`word:${w}`);
      lines.push(`at:events/${partition}/${String(r.offset).padStart(8, '0')}\t[${e.id}]`);
    }
  }
  for (const [k, n] of counts) lines.push(`${k}\t${n}`);
  return lines.sort();
}

function events(from: number, count: number): Array<{ id: number; user: string; text: string }> {
  return Array.from({ length: count }, (_, i) => ({ id: from + i, user: `user-${(from + i) % 13}`, text: `w${(from + i) % 7} w${(from + i) % 11} some padding text to make records larger` }));
}

describe('a dataset job through a master restart', () => {
  let dir: string;
  const procs: Proc[] = [];
  const closers: Array<() => unknown> = [];

  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
    for (const p of procs.splice(0)) await p.kill();
    await removeDir(dir);
  });

  it('resumes after a SIGKILL with the cut it took at submission, though records were appended meanwhile', async () => {
    dir = await tempDir();
    const port = await freePort();
    const master = await startMasterProc(dir, { port });
    procs.push(master);
    procs.push(await startWorkerProc(master.address, dir, { slots: 1 }));
    const datasets = new LaminateClient(master.address);
    closers.push(() => datasets.close());
    await datasets.createDataset('events', { partitions: 2 });
    for (let i = 0; i < 4; i++) await datasets.append('events', events(i * 1000, 1000), { key: 'user' });
    const jobs = new JobClient(master.address);
    closers.push(() => jobs.close());
    const jobId = await jobs.submit({ job: JOB, inputs: ['dataset:events'], output: join(dir, 'out'), reducers: 2, splitSize: 64 * 1024, speculation: false });
    const running = await waitForStatus(jobs, jobId, (s) => (s.maps?.succeeded ?? 0) >= 1, 60_000);
    expect(running.state).toBe('RUNNING');
    expect(running.maps!.total).toBeGreaterThan(2);
    const cut = running.cuts[0]!.offsets;
    expect(cut.reduce((a, b) => a + b, 0)).toBe(4000);
    await master.kill('SIGKILL');

    const again = await startMasterProc(dir, { port });
    procs.push(again);
    // Records appended after the submission, before the job ends: not the job's.
    await datasets.append('events', events(4000, 500), { key: 'user' });
    const final = await jobs.wait(jobId);
    expect(final.state).toBe('SUCCEEDED');
    expect(final.cuts).toEqual([{ dataset: 'events', offsets: cut }]);
    expect((await datasets.describeDataset('events')).partitions.reduce((n, p) => n + p.endOffset, 0)).toBe(4500);
    expect((await readOutput(join(dir, 'out'))).lines.sort()).toEqual(await expectedOutput(datasets, cut));
  });
});
