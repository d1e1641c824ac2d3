import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readdir, readFile } from 'node:fs/promises';
import { hashPartition } from '../../src/common/partitioner.js';
import { byKey, readOutput, runSequential } from './reference.js';
import { EXAMPLES, GUTENBERG, JobClient, removeDir, startLocal, tempDir } from './harness.js';
import type { LocalCluster } from '../../src/local/index.js';

describe('word count and inverted index on an embedded cluster', () => {
  let dir: string;
  let cluster: LocalCluster;
  let client: JobClient;

  beforeEach(async () => {
    dir = await tempDir();
    cluster = await startLocal({ dataDir: dir, workers: 2, slots: 2 });
    client = new JobClient(cluster.address);
  });
  afterEach(async () => {
    client.close();
    await cluster.stop();
    await removeDir(dir);
  });

  it('counts every word of the sample texts as a sequential run does', async () => {
    const out = join(dir, 'out');
    const job = join(EXAMPLES, 'wordcount.ts');
    const jobId = await client.submit({ job, inputs: [GUTENBERG], output: out, reducers: 3, splitSize: 256 * 1024, speculation: false });
    const s = await client.wait(jobId);
    expect(s.state).toBe('SUCCEEDED');
    const { parts, lines } = await readOutput(out);
    expect(parts).toHaveLength(3);
    const expected = await runSequential(job, [GUTENBERG]);
    expect([...lines].sort(byKey)).toEqual(expected);
    // Each part file is in key order and holds only its partition's keys.
    parts.forEach((p, i) => {
      expect([...p].sort(byKey)).toEqual(p);
      for (const line of p) expect(hashPartition(line.slice(0, line.indexOf('\t')), 3)).toBe(i);
    });
    // An independent count of one common word, straight from the texts.
    let the = 0;
    for (const f of await readdir(GUTENBERG)) {
      the += ((await readFile(join(GUTENBERG, f), 'utf8')).match(/(?<![A-Za-z])the(?![A-Za-z])/gi) ?? []).length;
    }
    expect(lines).toContain(`the\t${the}`);
    // Without faults and with speculation off, each task ran exactly once.
    const full = await client.status(jobId);
    for (const t of full.tasks) expect(t.attempts).toHaveLength(1);
    expect(full.maps!.total).toBeGreaterThan(8);
    const counter = (n: string): number => full.counters.find((c) => c.name === n)?.value ?? -1;
    expect(counter('REDUCE_OUTPUT_RECORDS')).toBe(expected.length);
    expect(counter('COMBINE_OUTPUT_RECORDS')).toBeLessThan(counter('COMBINE_INPUT_RECORDS'));
    // Both workers share this host: every map output was read from its file, none streamed.
    expect(counter('SHUFFLE_BYTES')).toBeGreaterThan(0);
    expect(counter('SHUFFLE_LOCAL_BYTES')).toBe(counter('SHUFFLE_BYTES'));
  });

  it('streams every map output over gRPC with host-local reads off, to the same counts', async () => {
    const streamed = await startLocal({ dataDir: join(dir, 'streamed'), workers: 2, slots: 2, hostLocalReads: false });
    const jobs = new JobClient(streamed.address);
    try {
      const out = join(dir, 'out-streamed');
      const job = join(EXAMPLES, 'wordcount.ts');
      const jobId = await jobs.submit({ job, inputs: [GUTENBERG], output: out, reducers: 3, splitSize: 1024 * 1024, speculation: false });
      expect((await jobs.wait(jobId)).state).toBe('SUCCEEDED');
      const { lines } = await readOutput(out);
      expect([...lines].sort(byKey)).toEqual(await runSequential(job, [GUTENBERG]));
      const full = await jobs.status(jobId);
      const counter = (n: string): number => full.counters.find((c) => c.name === n)?.value ?? -1;
      expect(counter('SHUFFLE_BYTES')).toBeGreaterThan(0);
      expect(counter('SHUFFLE_LOCAL_BYTES')).toBe(0);
    } finally {
      jobs.close();
      await streamed.stop();
    }
  });

  it('builds an inverted index equal to a sequential run', async () => {
    const out = join(dir, 'index');
    const job = join(EXAMPLES, 'inverted-index.ts');
    const jobId = await client.submit({ job, inputs: [GUTENBERG], output: out, reducers: 2, speculation: false });
    expect((await client.wait(jobId)).state).toBe('SUCCEEDED');
    const { lines } = await readOutput(out);
    expect([...lines].sort(byKey)).toEqual(await runSequential(job, [GUTENBERG]));
    expect(lines.some((l) => l.startsWith('gregor\t') && l.includes('pg-metamorphosis.txt'))).toBe(true);
  });
});
