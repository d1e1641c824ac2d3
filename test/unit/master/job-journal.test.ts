import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { compactEntries, JobJournal, type JournalEntry } from '../../../src/master/job-journal.js';
import type { JobStatus } from '../../../src/common/job-status.js';
import type { ResolvedJobSpec } from '../../../src/master/job-spec.js';

const spec = { name: 'j' } as unknown as ResolvedJobSpec;
const status = (jobId: string): JobStatus => ({ jobId, state: 'SUCCEEDED' } as unknown as JobStatus);
const submit = (jobId: string): JournalEntry => ({ type: 'submit', jobId, spec, bundleHash: 'h', splits: [], submitTime: 0 });
const committed = (jobId: string, index: number): JournalEntry => ({ type: 'taskCommitted', jobId, index, attemptId: `${jobId}-r-0000${index}-a1`, counters: {} });
const finish = (jobId: string): JournalEntry => ({ type: 'finish', jobId, status: status(jobId) });

describe('the master journal', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('keeps unfinished jobs whole, the most recent finished ones without their task commits, and the highest worker id', () => {
    const entries: JournalEntry[] = [
      { type: 'worker', workerId: 'worker-0001' }, submit('job-0001'), committed('job-0001', 0), finish('job-0001'),
      { type: 'worker', workerId: 'worker-0003' }, submit('job-0002'), committed('job-0002', 0), finish('job-0002'),
      { type: 'worker', workerId: 'worker-0002' }, submit('job-0003'), committed('job-0003', 1),
      submit('job-0004'), finish('job-0004'),
    ];
    expect(compactEntries(entries, 2)).toEqual([
      { type: 'worker', workerId: 'worker-0003' },
      submit('job-0002'), finish('job-0002'),
      submit('job-0003'), committed('job-0003', 1),
      submit('job-0004'), finish('job-0004'),
    ]);
    // Nothing to drop: only the task commits of finished jobs and older worker lines go.
    expect(compactEntries(entries, 10)).toHaveLength(entries.length - 2 - 2);
  });

  it('reads back what it appended, in order, skipping a line torn by a crash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'journal-'));
    dirs.push(dir);
    const path = join(dir, 'journal.jsonl');
    const j = new JobJournal(path, silentLogger());
    await Promise.all([j.append(submit('job-0001')), j.append(committed('job-0001', 0)), j.append(finish('job-0001'))]);
    await writeFile(path, `${await readFile(path, 'utf8')}{"type":"submit","jobId":"job-00`);
    expect(await j.read()).toEqual([submit('job-0001'), committed('job-0001', 0), finish('job-0001')]);
  });

  it('compacts the file in turn with appends', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'journal-'));
    dirs.push(dir);
    const j = new JobJournal(join(dir, 'journal.jsonl'), silentLogger());
    for (const id of ['job-0001', 'job-0002', 'job-0003']) {
      void j.append(submit(id));
      void j.append(finish(id));
    }
    const compacting = j.compact(1);
    const after = j.append(submit('job-0004'));
    await Promise.all([compacting, after]);
    expect(await j.read()).toEqual([submit('job-0003'), finish('job-0003'), submit('job-0004')]);
  });
});
