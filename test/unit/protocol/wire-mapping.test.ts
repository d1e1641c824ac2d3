import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../../src/common/job-status.js';
import type { AttemptLaunch, AttemptReport, WorkerCommand } from '../../../src/common/task-attempt.js';
import type * as M from '../../../src/protocol/messages.js';
import {
  fromWireCommand, fromWireJobStatus, fromWireLaunch, fromWireReport, toWireCommand, toWireJobStatus, toWireLaunch, toWireReport,
} from '../../../src/protocol/wire-mapping.js';

const reduceLaunch: AttemptLaunch = {
  attemptId: 'job-0001-r-00001-a1', jobId: 'job-0001', workerId: 'worker-0002', bundleHash: 'abc', kind: 'reduce', index: 1,
  memoryMb: 512, timeoutMs: 1000, reducers: 2, format: 'jsonl', outputDir: '/out',
  sources: [
    { mapIndex: 0, attemptId: 'job-0001-m-00000-a1', workerId: 'worker-0001', shuffleAddress: '127.0.0.1:1', partition: { offset: 10, length: 20, records: 3 } },
    { mapIndex: 1, attemptId: 'job-0001-m-00001-a2', workerId: 'worker-0003', shuffleAddress: '', partition: { offset: 0, length: 0, records: 0 } },
  ],
  splitPoints: ['m'], sortBufferBytes: 0,
};
const mapLaunch: AttemptLaunch = {
  ...reduceLaunch, attemptId: 'job-0001-m-00000-a1', kind: 'map', index: 0, format: 'text', sources: [], splitPoints: [],
  split: { kind: 'file', path: '/in/a.txt', start: 100, length: 50 }, sortBufferBytes: 4096,
};

describe('wire mapping', () => {
  it('carries launches and commands to the wire and back unchanged', () => {
    for (const launch of [mapLaunch, reduceLaunch]) expect(fromWireLaunch(toWireLaunch(launch))).toEqual(launch);
    const commands: WorkerCommand[] = [
      { type: 'launch', launch: mapLaunch },
      { type: 'kill', attemptId: 'job-0001-m-00000-a1', reason: 'speculation lost' },
      { type: 'cleanup', jobId: 'job-0001' },
    ];
    for (const c of commands) expect(fromWireCommand(toWireCommand(c))).toEqual(c);
    expect(fromWireCommand({ launch: null, kill: null, cleanup: null })).toBeUndefined();
  });

  it('carries a dataset split to the wire and back, and refuses a split of neither kind', () => {
    const launch: AttemptLaunch = { ...mapLaunch, format: 'dataset', split: { kind: 'dataset', dataset: 'clicks', partition: 3, startOffset: 1200, endOffset: 4096 } };
    const wire = toWireLaunch(launch);
    expect(wire.split).toEqual({ dataset: { dataset: 'clicks', partition: 3, startOffset: 1200, endOffset: 4096 } });
    expect(fromWireLaunch(wire)).toEqual(launch);
    expect(() => fromWireLaunch({ ...wire, split: { file: null, dataset: null } })).toThrow(/Expected the input split of job-0001-m-00000-a1 to be a file or a dataset split, got neither/);
  });

  it('carries an archived split\'s object and byte range, and reads proto defaults (an empty path) as a split not archived', () => {
    const split = { kind: 'dataset' as const, dataset: 'clicks', partition: 1, startOffset: 100, endOffset: 900, archive: { path: 's3://lake/ds/clicks/p-0001/00000000000000000000.log', start: 4096, end: 65536 } };
    const launch: AttemptLaunch = { ...mapLaunch, format: 'dataset', split };
    const wire = toWireLaunch(launch);
    expect(wire.split).toEqual({ dataset: { dataset: 'clicks', partition: 1, startOffset: 100, endOffset: 900, archivePath: split.archive.path, archiveStart: 4096, archiveEnd: 65536 } });
    expect(fromWireLaunch(wire)).toEqual(launch);
    const defaults = { dataset: { dataset: 'clicks', partition: 1, startOffset: 100, endOffset: 900, archivePath: '', archiveStart: 0, archiveEnd: 0 } };
    expect(fromWireLaunch({ ...wire, split: defaults }).split).toEqual({ kind: 'dataset', dataset: 'clicks', partition: 1, startOffset: 100, endOffset: 900 });
  });

  it('reads a job status without cuts (an older master\'s) as one with none', () => {
    const wire = toWireJobStatus({
      jobId: 'job-0002', name: 'wc', state: 'RUNNING', message: '', submitMs: 1, startMs: 2, finishMs: 0, outputDir: '/out',
      maps: null, reduces: null, counters: [], failures: [], tasks: [], cuts: [],
    });
    const { cuts: _dropped, ...older } = wire;
    expect(fromWireJobStatus(older as M.JobStatus).cuts).toEqual([]);
  });

  it('reads a launch without a split or partition as the domain says it (no split; nothing to fetch)', () => {
    const wire = toWireLaunch(reduceLaunch);
    const l = fromWireLaunch({ ...wire, split: null, sources: [{ ...wire.sources[0]!, partition: null }] });
    expect('split' in l).toBe(false);
    expect(l.sources[0]!.partition).toEqual({ offset: 0, length: 0, records: 0 });
  });

  it('refuses a launch of a task kind or input format it does not know, naming what it got', () => {
    const wire = toWireLaunch(mapLaunch);
    expect(() => fromWireLaunch({ ...wire, kind: 'combine' })).toThrow(/Expected the task kind of job-0001-m-00000-a1 to be one of map, reduce, got 'combine'/);
    expect(() => fromWireLaunch({ ...wire, format: 'csv' })).toThrow(/to be one of text, whole, jsonl, dataset, got 'csv'/);
  });

  it('carries every outcome of a report to the wire and back', () => {
    const reports: AttemptReport[] = [
      { attemptId: 'a', workerId: 'w', result: { outcome: 'SUCCEEDED', counters: { MAP_INPUT_RECORDS: 3 }, partitions: [{ offset: 0, length: 5, records: 1 }] } },
      { attemptId: 'a', workerId: 'w', result: { outcome: 'SUCCEEDED', counters: {}, partitions: [] } },
      {
        attemptId: 'r', workerId: 'w',
        result: { outcome: 'SUCCEEDED', counters: {}, partitions: [], outputFile: { records: 2, bytes: 123_456_789_012, checksum: 0xfedcba98, firstKey: '["a",1]', lastKey: 'zé' } },
      },
      // An empty view file: no keys (the wire's empty strings read back as none).
      { attemptId: 'r', workerId: 'w', result: { outcome: 'SUCCEEDED', counters: {}, partitions: [], outputFile: { records: 0, bytes: 52, checksum: 0, firstKey: undefined, lastKey: undefined } } },
      { attemptId: 'a', workerId: 'w', result: { outcome: 'FAILED', code: 'OUT_OF_MEMORY', message: 'too big' } },
      { attemptId: 'a', workerId: 'w', result: { outcome: 'FETCH_FAILED', message: 'gone', mapIndex: 4, mapAttemptId: 'm4' } },
    ];
    for (const r of reports) expect(fromWireReport(toWireReport(r))).toEqual(r);
  });

  it('reads a failure with an unknown code as INTERNAL, one without a cause as such, and refuses an unknown outcome', () => {
    const wire = toWireReport({ attemptId: 'a', workerId: 'w', result: { outcome: 'FAILED', code: 'TIMEOUT', message: 'slow' } });
    expect(fromWireReport({ ...wire, failure: { ...wire.failure!, code: 'NO_SUCH_CODE' } }).result).toEqual({ outcome: 'FAILED', code: 'INTERNAL', message: 'slow' });
    expect(fromWireReport({ ...wire, failure: null }).result).toEqual({ outcome: 'FAILED', code: 'INTERNAL', message: 'no cause reported' });
    expect(() => fromWireReport({ ...wire, outcome: 'MAYBE' })).toThrow(/Expected outcome SUCCEEDED, FAILED or FETCH_FAILED, got 'MAYBE'/);
  });

  it('carries a job status to the wire and back, and refuses a state it does not know', () => {
    const failure = { code: 'TASK_FAILED' as const, message: 'boom', attemptId: 'job-0001-m-00000-a1', workerId: 'worker-0001' };
    const status: JobStatus = {
      jobId: 'job-0001', name: 'wc', state: 'FAILED', message: 'a task failed', submitMs: 1, startMs: 2, finishMs: 3, outputDir: '/out',
      maps: { total: 1, pending: 0, running: 0, succeeded: 0, failed: 1, killed: 0 }, reduces: null,
      counters: [{ name: 'FAILED_ATTEMPTS', value: 1 }], failures: [failure],
      tasks: [{ taskId: 'job-0001-m-00000', kind: 'map', state: 'FAILED', attempts: [
        { attemptId: failure.attemptId, workerId: 'worker-0001', state: 'FAILED', startMs: 2, finishMs: 3, speculative: false, failure },
      ] }],
      cuts: [{ dataset: 'clicks', offsets: [1200, 0, 310, 77] }],
    };
    const wire: M.JobStatus = toWireJobStatus(status);
    expect(fromWireJobStatus(wire)).toEqual(status);
    expect(() => fromWireJobStatus({ ...wire, state: 'SLEEPING' })).toThrow(/Expected the state of job-0001 to be one of .*, got 'SLEEPING'/);
  });
});
