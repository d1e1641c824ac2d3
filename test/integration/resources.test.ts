import { afterEach, describe, expect, it } from 'vitest';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LaminateError } from '../../src/common/errors.js';
import type { LocalCluster } from '../../src/local/index.js';
import { byKey, readOutput, runSequential } from './reference.js';
import { attemptsOf, EXAMPLES, FIXTURES, GUTENBERG, JobClient, removeDir, startLocal, tempDir, waitForStatus } from './harness.js';

const job = (name: string): string => join(FIXTURES, 'jobs', name);
const BOOK = join(GUTENBERG, 'pg-metamorphosis.txt');

describe('containers, resources and scheduling policy', () => {
  let dir: string;
  let cluster: LocalCluster | undefined;
  let client: JobClient | undefined;

  async function start(o: Parameters<typeof startLocal>[0]): Promise<JobClient> {
    cluster = await startLocal(o);
    client = new JobClient(cluster.address);
    return client;
  }

  afterEach(async () => {
    client?.close();
    await cluster?.stop();
    cluster = undefined;
    client = undefined;
    await removeDir(dir);
  });

  it('fails an attempt that outgrows its memory with OUT_OF_MEMORY, and the worker goes on', async () => {
    dir = await tempDir();
    // Retries 10 ms apart rather than 200 ms doubling: the attempts' causes are what is checked, not the backoff.
    const c = await start({ dataDir: dir, workers: 2, slots: 1, memoryMb: 1024, scheduler: { retryBackoffMs: 10 } });
    const id = await c.submit({ job: job('res-hog.ts'), inputs: [BOOK], output: join(dir, 'o1'), mapMemoryMb: 48, speculation: false });
    const s = await c.wait(id);
    expect(s.state).toBe('FAILED');
    expect(s.failures).toHaveLength(4);
    for (const f of s.failures) {
      expect(f.code).toBe('OUT_OF_MEMORY');
      expect(f.message).toMatch(/48 MB.*--map-memory/);
    }
    // The same workers then run a job to completion.
    const ok = await c.submit({ job: join(EXAMPLES, 'wordcount.ts'), inputs: [BOOK], output: join(dir, 'o2'), speculation: false });
    expect((await c.wait(ok)).state).toBe('SUCCEEDED');
    expect((await readOutput(join(dir, 'o2'))).lines.sort(byKey)).toEqual(await runSequential(join(EXAMPLES, 'wordcount.ts'), [BOOK]));
  });

  it('kills an attempt that runs past --task-timeout with TIMEOUT, and the worker goes on', async () => {
    dir = await tempDir();
    const c = await start({ dataDir: dir, workers: 2, slots: 1, scheduler: { retryBackoffMs: 10 } });
    const id = await c.submit({ job: job('res-spin.ts'), inputs: [BOOK], output: join(dir, 'o1'), taskTimeoutMs: 300, speculation: false });
    const s = await c.wait(id);
    expect(s.state).toBe('FAILED');
    expect(s.failures.map((f) => f.code)).toEqual(['TIMEOUT', 'TIMEOUT', 'TIMEOUT', 'TIMEOUT']);
    expect(s.failures[0]!.message).toMatch(/timeout of 300 ms/);
    const ok = await c.submit({ job: join(EXAMPLES, 'wordcount.ts'), inputs: [BOOK], output: join(dir, 'o2'), speculation: false });
    expect((await c.wait(ok)).state).toBe('SUCCEEDED');
  });

  it('refuses at submit a job whose task asks for more memory than any worker has', async () => {
    dir = await tempDir();
    const c = await start({ dataDir: dir, workers: 1, slots: 1, memoryMb: 256 });
    const err = await c.submit({ job: join(EXAMPLES, 'wordcount.ts'), inputs: [BOOK], output: join(dir, 'o'), mapMemoryMb: 128, reduceMemoryMb: 300 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LaminateError);
    expect((err as LaminateError).code).toBe('RESOURCE_EXHAUSTED');
    expect((err as LaminateError).message).toMatch(/300 MB.*largest worker has 256 MB/);
  });

  it('reuses containers between attempts of the same job', async () => {
    dir = await tempDir();
    const c = await start({ dataDir: dir, workers: 1, slots: 1 });
    const id = await c.submit({ job: join(EXAMPLES, 'wordcount.ts'), inputs: [GUTENBERG], output: join(dir, 'o'), splitSize: 256 * 1024, speculation: false });
    const s = await c.wait(id);
    expect(s.state).toBe('SUCCEEDED');
    const attempts = (s.maps!.total + s.reduces!.total);
    expect(attempts).toBeGreaterThan(10);
    // One prestarted blank container ran every attempt (a one-slot worker holds
    // one thread); at most one more is started, as the blank for the next job.
    expect(cluster!.workers[0]!.containersStarted).toBeLessThanOrEqual(2);
  });

  it('lets a small job submitted while a large one holds every slot finish first', async () => {
    dir = await tempDir();
    const c = await start({ dataDir: dir, workers: 2, slots: 1 });
    const big = await c.submit({ job: job('res-slow-count.ts'), inputs: [GUTENBERG], output: join(dir, 'big'), splitSize: 64 * 1024, speculation: false });
    await waitForStatus(c, big, (s) => (s.maps?.running ?? 0) === 2);
    const small = await c.submit({ job: join(EXAMPLES, 'wordcount.ts'), inputs: [BOOK], output: join(dir, 'small'), speculation: false });
    const smallDone = await c.wait(small);
    expect(smallDone.state).toBe('SUCCEEDED');
    const bigNow = await c.status(big);
    expect(bigNow.state).toBe('RUNNING');
    expect(bigNow.maps!.succeeded).toBeLessThan(bigNow.maps!.total);
    await c.kill(big);
    expect((await readOutput(join(dir, 'small'))).lines.sort(byKey)).toEqual(await runSequential(join(EXAMPLES, 'wordcount.ts'), [BOOK]));
  });

  it('starts a speculative backup for a straggler; the first to finish wins and the other is killed', async () => {
    dir = await tempDir();
    const c = await start({ dataDir: dir, workers: 2, slots: 2, scheduler: { speculation: { minRuntimeMs: 500 } } });
    const out = join(dir, 'o');
    const id = await c.submit({ job: job('res-straggler.ts'), inputs: [GUTENBERG], output: out, splitSize: 512 * 1024, speculation: true, reducers: 2 });
    const s = await c.wait(id);
    expect(s.state).toBe('SUCCEEDED');
    const full = await c.status(id);
    const m0 = full.tasks.find((t) => t.taskId.endsWith('-m-00000'))!;
    expect(m0.attempts).toHaveLength(2);
    const [first, backup] = m0.attempts;
    expect(backup!.speculative).toBe(true);
    expect(backup!.state).toBe('SUCCEEDED');
    expect(first!.state).toBe('KILLED');
    expect(backup!.workerId).not.toBe(first!.workerId);
    expect(attemptsOf(full).filter((a) => a.speculative)).toHaveLength(1);
    expect((await readOutput(out)).lines.sort(byKey)).toEqual(await runSequential(job('res-straggler.ts'), [GUTENBERG]));
  });

  it('sums user and built-in counters over the committed attempts only', async () => {
    dir = await tempDir();
    const c = await start({ dataDir: dir, workers: 2, slots: 1 });
    const out = join(dir, 'o');
    const id = await c.submit({ job: job('res-counting.ts'), inputs: [GUTENBERG], output: out, reducers: 2, splitSize: 512 * 1024, speculation: false });
    const s = await c.wait(id);
    expect(s.state).toBe('SUCCEEDED');
    const counter = (name: string): number | undefined => s.counters.find((x) => x.name === name)?.value;
    // Independent figures, straight from the files.
    let lines = 0;
    let chars = 0;
    for (const f of await readdir(GUTENBERG)) {
      const text = await readFile(join(GUTENBERG, f), 'utf8');
      const ls = text.split('\n');
      if (ls[ls.length - 1] === '') ls.pop();
      lines += ls.length;
      chars += ls.reduce((n, l) => n + l.replace(/\r$/, '').length, 0);
    }
    expect(counter('user:lines')).toBe(lines);
    expect(counter('user:chars')).toBe(chars);
    expect(counter('MAP_INPUT_RECORDS')).toBe(lines);
    const { lines: output } = await readOutput(out);
    expect(counter('user:keys')).toBe(output.length);
    expect(counter('REDUCE_OUTPUT_RECORDS')).toBe(output.length);
    expect(counter('FAILED_ATTEMPTS')).toBe(1);
    expect(output.sort(byKey)).toEqual(await runSequential(job('res-counting.ts'), [GUTENBERG]));
  });

  it('sorts globally with total order: parts read in order are sorted', async () => {
    dir = await tempDir();
    const input = join(dir, 'in');
    await mkdir(input);
    // Seeded pseudo-random keys, so runs repeat.
    let seed = 42;
    const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let f = 0; f < 3; f++) {
      const lines: string[] = [];
      for (let i = 0; i < 4000; i++) {
        const len = 1 + Math.floor(rnd() * 8);
        let key = '';
        for (let j = 0; j < len; j++) key += String.fromCharCode(97 + Math.floor(rnd() * 26));
        lines.push(`${key} row ${f}-${i}`);
      }
      await writeFile(join(input, `part${f}.txt`), `${lines.join('\n')}\n`);
    }
    const c = await start({ dataDir: dir, workers: 2, slots: 2 });
    const out = join(dir, 'sorted');
    const id = await c.submit({ job: job('res-sort.ts'), inputs: [input], output: out, reducers: 4, splitSize: 32 * 1024, speculation: false });
    expect((await c.wait(id)).state).toBe('SUCCEEDED');
    const { parts, lines } = await readOutput(out);
    expect(parts).toHaveLength(4);
    // Globally sorted across part files, and no reducer got everything.
    for (let i = 1; i < lines.length; i++) expect(byKey(lines[i - 1]!, lines[i]!)).toBeLessThanOrEqual(0);
    for (const p of parts) expect(p.length).toBeLessThan(lines.length * 0.6);
    expect(lines).toEqual(await runSequential(job('res-sort.ts'), [input]));
  });
});
