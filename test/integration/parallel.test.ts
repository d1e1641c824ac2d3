/**
 * Parallelism across workers: with one slot per worker, two attempts whose
 * [start, finish] intervals overlap must have run on two workers at once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readOutput } from './reference.js';
import { FIXTURES, JobClient, removeDir, startLocal, tempDir } from './harness.js';
import { attempts, expectSameAsSequential, overlappingPairs, Teardown, writeCorpus } from './fault-support.js';

const SLOW_MAP = join(FIXTURES, 'jobs', 'slow-map.ts');
const SLOW_REDUCE = join(FIXTURES, 'jobs', 'slow-reduce.ts');

describe('tasks run in parallel on two workers', () => {
  const teardown = new Teardown();
  let dir: string;
  let client: JobClient;

  beforeEach(async () => {
    dir = await tempDir('laminate-parallel-');
    teardown.add(() => removeDir(dir));
    const cluster = await startLocal({ dataDir: join(dir, 'cluster'), workers: 2, slots: 1 });
    teardown.add(() => cluster.stop());
    client = new JobClient(cluster.address);
    teardown.add(() => client.close());
  });
  afterEach(() => teardown.run());

  it('runs map tasks of one job at the same time on two workers', async () => {
    // Two maps of about 0.8 s each: one per worker.
    const input = await writeCorpus(join(dir, 'in'), [{ name: 'a.txt', lines: 80 }, { name: 'b.txt', lines: 80 }], { seed: 1 });
    const out = join(dir, 'out');
    const jobId = await client.submit({ job: SLOW_MAP, inputs: [input], output: out, reducers: 2, speculation: false });
    const s = await client.wait(jobId, undefined, 100);
    expect(s.state).toBe('SUCCEEDED');
    const maps = attempts(s, 'map');
    expect(maps).toHaveLength(2);
    expect(new Set(maps.map((a) => a.workerId)).size).toBe(2);
    expect(overlappingPairs(maps)).not.toHaveLength(0);
    await expectSameAsSequential(SLOW_MAP, input, out, 2);
  });

  it('runs reduce tasks of one job at the same time on two workers', async () => {
    // 200 distinct words over two reducers: about 100 keys, 1 s, per reduce.
    const input = await writeCorpus(join(dir, 'in'), [{ name: 'a.txt', lines: 100 }], { seed: 2 });
    const out = join(dir, 'out');
    const jobId = await client.submit({ job: SLOW_REDUCE, inputs: [input], output: out, reducers: 2, speculation: false });
    const s = await client.wait(jobId, undefined, 100);
    expect(s.state).toBe('SUCCEEDED');
    const reduces = attempts(s, 'reduce');
    expect(reduces).toHaveLength(2);
    expect(new Set(reduces.map((a) => a.workerId)).size).toBe(2);
    expect(overlappingPairs(reduces)).not.toHaveLength(0);
    // Both reducers had real work: about half of the 200 words each.
    expect((await readOutput(out)).parts.map((p) => p.length > 50)).toEqual([true, true]);
    await expectSameAsSequential(SLOW_REDUCE, input, out, 2);
  });
});
