import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { defineJob } from '../../../src/api/job.js';
import { formatAttemptDir } from '../../../src/common/ids.js';
import type { AttemptLaunch } from '../../../src/common/task-attempt.js';
import { FileOutputCommitter as C } from '../../../src/storage/output-committer.js';
import { ViewFileReader } from '../../../src/view/view-file-reader.js';
import { openReduceOutput } from '../../../src/worker/reduce-output.js';
import { runReduce } from '../../../src/worker/reduce-runner.js';
import { useTempDirs } from '../../support/temp-dirs.js';

/** A view build's reducer: one value per key, written as a view file. */
const job = defineJob<unknown>({
  map() {},
  reduce(key, values, emit) { emit(key, values.length); },
  output: 'view',
});

function launch(outputDir: string, attempt: number): AttemptLaunch {
  return {
    attemptId: `job-0001-r-00000-a${attempt}`, jobId: 'job-0001', workerId: 'worker-0001', bundleHash: 'ab', kind: 'reduce', index: 0,
    memoryMb: 64, timeoutMs: 0, reducers: 1, format: 'text', outputDir, sources: [], splitPoints: [], sortBufferBytes: 1 << 20,
  };
}

describe('a reduce attempt that ends after its job committed', () => {
  const tempDir = useTempDirs();

  it('leaves nothing in the committed output folder, whether it starts late or was writing when the job committed', async () => {
    const dir = await tempDir();
    const out = join(dir, 'v1');
    await C.setupJob(out);
    const workDir = join(dir, 'work');

    // Attempt 1 runs and will commit.
    expect(await runReduce(job, launch(out, 1), workDir)).toMatchObject({ outcome: 'SUCCEEDED' });
    // Attempt 2 (a speculative backup) is writing its file when the job commits.
    const dir2 = formatAttemptDir(launch(out, 2).attemptId, 'worker-0001');
    await C.setupTask(out, dir2);
    const writing = await openReduceOutput('view', C.taskAttemptPath(out, dir2, 0));
    writing.write('late-key', 1);
    await writing.flush();

    await C.commitTask(out, formatAttemptDir(launch(out, 1).attemptId, 'worker-0001'), 0);
    await C.commitJob(out);
    const published = ['_SUCCESS', 'part-00000'];
    expect((await readdir(out)).sort()).toEqual(published);

    // Attempt 2 finishes after the commit: its file has nowhere to go.
    writing.write('later-key', 2);
    await expect(writing.close()).rejects.toMatchObject({ code: 'ENOENT' });
    await writing.abort();
    // Attempt 3 starts after the commit (a zombie, or a backup launched just before it): refused before it writes.
    await expect(runReduce(job, launch(out, 3), workDir)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringMatching(/the job has ended/) as unknown });
    // The master aborts the late attempts' tasks as it would: nothing comes back either.
    await C.abortTask(out, dir2);
    await C.abortTask(out, formatAttemptDir(launch(out, 3).attemptId, 'worker-0001'));
    expect((await readdir(out)).sort()).toEqual(published);

    // The committed part is attempt 1's (an empty view: no map output), untouched.
    const reader = await ViewFileReader.open(join(out, 'part-00000'));
    const keys: unknown[] = [];
    for await (const e of reader.scan({})) keys.push([e.key, unpack(e.value)]);
    await reader.close();
    expect(keys).toEqual([]);
  });
});
