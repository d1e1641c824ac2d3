import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../../src/common/job-status.js';
import type { JournalEntry, SubmitEntry } from '../../../src/master/job-journal.js';
import type { ResolvedJobSpec } from '../../../src/master/job-spec.js';
import { replayJournal } from '../../../src/master/recovery.js';

const spec = { name: 'j' } as unknown as ResolvedJobSpec;
const submit = (jobId: string): SubmitEntry => ({ type: 'submit', jobId, spec, bundleHash: 'h', splits: [], submitTime: 0 });
const status = (jobId: string): JobStatus => ({ jobId, state: 'SUCCEEDED' } as unknown as JobStatus);

describe('replaying the master journal', () => {
  it('starts ids at 1 with an empty journal', () => {
    expect(replayJournal([])).toEqual({ nextWorker: 1, nextJob: 1, jobs: [] });
  });

  it('gives finished jobs their status, unfinished ones their committed reduces, and ids above every one it holds', () => {
    const entries: JournalEntry[] = [
      { type: 'worker', workerId: 'worker-0007' },
      submit('job-0002'),
      { type: 'taskCommitted', jobId: 'job-0002', index: 0, attemptId: 'job-0002-r-00000-a1', counters: { a: 1 } },
      { type: 'finish', jobId: 'job-0002', status: status('job-0002') },
      { type: 'worker', workerId: 'worker-0003' },
      submit('job-0003'),
      { type: 'taskCommitted', jobId: 'job-0003', index: 1, attemptId: 'job-0003-r-00001-a2', counters: { b: 2 } },
      // A finish whose submission was compacted away still keeps its id from being handed out again.
      { type: 'finish', jobId: 'job-0009', status: status('job-0009') },
    ];
    const r = replayJournal(entries);
    expect(r.nextWorker).toBe(8);
    expect(r.nextJob).toBe(10);
    expect(r.jobs.map((j) => [j.submit.jobId, j.finalStatus?.state, [...j.committed]])).toEqual([
      ['job-0002', 'SUCCEEDED', [[0, { a: 1 }]]],
      ['job-0003', undefined, [[1, { b: 2 }]]],
    ]);
  });
});
