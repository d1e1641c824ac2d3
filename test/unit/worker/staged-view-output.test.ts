/**
 * A reduce attempt's view file for an object-store output: staged in the
 * attempt's work folder, uploaded at close, visible only once the attempt
 * is committed. Run on the object committer over a local folder (the
 * storage port's local backend; the S3 one is covered end to end in
 * test/integration/views-s3.test.ts).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ObjectOutputCommitter } from '../../../src/storage/object-output-committer.js';
import { ViewFileReader } from '../../../src/view/view-file-reader.js';
import { openStagedViewOutput } from '../../../src/worker/staged-view-output.js';
import { collect } from '../view/helpers.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const key = (n: number): string => `k${String(n).padStart(6, '0')}`;

describe('a staged view output', () => {
  const tempDir = useTempDirs();

  it('uploads the whole view file at close, visible only once committed, and leaves no staging file', async () => {
    const out = join(await tempDir(), 'v1');
    const work = await tempDir();
    await ObjectOutputCommitter.setupJob(out);
    const upload = await ObjectOutputCommitter.openTaskUpload(out, 'a1', 0);
    const w = await openStagedViewOutput(join(work, 'a1.part-00000.view'), upload);
    // Enough for several blocks and several upload writes.
    for (let n = 0; n < 40_000; n++) {
      w.write(key(n), n * 3);
      if (w.needsFlush()) await w.flush();
    }
    await w.close();
    expect(await readdir(work)).toEqual([]);
    expect((await readdir(out)).filter((f) => f.startsWith('part-'))).toEqual([]);
    await ObjectOutputCommitter.commitTask(out, 'a1', 0);
    await ObjectOutputCommitter.commitJob(out);
    const reader = await ViewFileReader.open(join(out, 'part-00000'));
    try {
      await reader.verify();
      const got = (await collect(reader.scan())).map((e) => [e.key, unpack(e.value) as number]);
      expect(got).toEqual(Array.from({ length: 40_000 }, (_, n) => [key(n), n * 3]));
    } finally {
      await reader.close();
    }
  });

  it('leaves neither a staging file nor an upload after an abort', async () => {
    const out = join(await tempDir(), 'v1');
    const work = await tempDir();
    await ObjectOutputCommitter.setupJob(out);
    const upload = await ObjectOutputCommitter.openTaskUpload(out, 'a1', 0);
    const w = await openStagedViewOutput(join(work, 'a1.part-00000.view'), upload);
    w.write(key(1), pack(1));
    await w.flush();
    await w.abort();
    await ObjectOutputCommitter.abortTask(out, 'a1', 0);
    expect(await readdir(work)).toEqual([]);
    await ObjectOutputCommitter.abortJob(out);
    expect((await readdir(out, { recursive: true })).map(String).filter((f) => !f.startsWith('_temporary'))).toEqual([]);
  });
});
