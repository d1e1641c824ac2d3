import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/local/local-cluster.js';
import { FIXTURES, JobClient, removeDir, startLocal, tempDir } from './harness.js';

describe('a job whose reducers write view files', () => {
  let dir: string;
  let cluster: LocalCluster;
  let client: JobClient;

  beforeAll(async () => {
    dir = await tempDir();
    cluster = await startLocal({ dataDir: dir, workers: 1 });
    client = new JobClient(cluster.address);
  });
  afterAll(async () => {
    client.close();
    await cluster.stop();
    await removeDir(dir);
  });

  it('fails at once, with the keys named, when a reducer emits a key out of order, and leaves no part file', async () => {
    const input = join(dir, 'in.txt');
    await writeFile(input, 'x\ny\nz\n');
    const out = join(dir, 'out');
    const id = await client.submit({ job: join(FIXTURES, 'jobs', 'view-unsorted.ts'), inputs: [input], output: out, reducers: 1 });
    const s = await client.wait(id);
    expect(s.state).toBe('FAILED');
    expect(s.message).toMatch(/Expected keys in strictly ascending UTF-8 byte order, got "a" after "b"/);
    // A deterministic refusal is not retried: one reduce attempt.
    const status = await client.status(id);
    const reduces = status.tasks.filter((t) => t.kind === 'reduce');
    expect(reduces.flatMap((t) => t.attempts)).toHaveLength(1);
    expect((await readdir(out).catch(() => [])).filter((n) => n.startsWith('part-'))).toEqual([]);
  });
});
