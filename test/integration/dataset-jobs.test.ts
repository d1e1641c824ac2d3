import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LaminateClient } from '../../src/client/index.js';
import { LaminateError } from '../../src/common/errors.js';
import type { LocalCluster } from '../../src/local/index.js';
import { MasterClient } from '../../src/protocol/master-rpc.js';
import { seededRandom } from '../support/seeded-random.js';
import { readOutput } from './reference.js';
import { CLI, FIXTURES, JobClient, removeDir, startLocal, tempDir } from './harness.js';

const run = promisify(execFile);
const JOB = join(FIXTURES, 'jobs', 'dataset-count.ts');
const DATASET = 'events';
const PARTITIONS = 4;
/** Small enough that each partition makes several splits (the offset index has an entry every 64 KiB). */
const SPLIT_SIZE = 64 * 1024;

interface Event { id: number; user: string; text: string }

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu'];

/** Seeded events of about 150 bytes: ids from `from` on. */
function events(random: () => number, from: number, count: number): Event[] {
  return Array.from({ length: count }, (_, i) => ({
    id: from + i,
    user: `user-${Math.floor(random() * 40)}`,
    text: Array.from({ length: 5 + Math.floor(random() * 15) }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' '),
  }));
}

/**
 * The job's output, computed independently: every record of each partition
 * before `cut`, read back with LaminateClient.read, counted in a plain loop.
 */
async function expectedOutput(client: LaminateClient, cut: readonly number[]): Promise<string[]> {
  const counts = new Map<string, number>();
  const add = (k: string): void => { counts.set(k, (counts.get(k) ?? 0) + 1); };
  const lines: string[] = [];
  for (let partition = 0; partition < cut.length; partition++) {
    let expectedOffset = 0;
    for await (const r of client.read(DATASET, { partition, endOffset: cut[partition]! })) {
      expect(r.offset).toBe(expectedOffset++);
      const e = r.record as Event;
      add(`user:${e.user}`);
      for (const w of e.text.split(' ')) add(`word:${w}`);
      lines.push(`at:${DATASET}/${partition}/${String(r.offset).padStart(8, '0')}\t[${e.id}]`);
    }
    expect(expectedOffset).toBe(cut[partition]);
  }
  for (const [k, n] of counts) lines.push(`${k}\t${n}`);
  return lines.sort();
}

async function rejection(p: Promise<unknown>): Promise<LaminateError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(LaminateError);
  return err as LaminateError;
}

describe('batch jobs over a dataset', () => {
  let dir: string;
  let cluster: LocalCluster;
  let datasets: LaminateClient;
  let jobs: JobClient;
  const random = seededRandom(20240607);
  let nextId = 0;

  beforeAll(async () => {
    dir = await tempDir();
    cluster = await startLocal({ dataDir: join(dir, 'cluster'), workers: 2, slots: 2 });
    datasets = new LaminateClient(cluster.address);
    jobs = new JobClient(cluster.address);
    await datasets.createDataset(DATASET, { partitions: PARTITIONS });
    // Several appends, keyed by user: several batches in every partition.
    for (let i = 0; i < 6; i++) {
      await datasets.append(DATASET, events(random, nextId, 2000), { key: 'user' });
      nextId += 2000;
    }
  });
  afterAll(async () => {
    jobs.close();
    await datasets.close();
    await cluster.stop();
    await removeDir(dir);
  });

  it('reads exactly the records before a cut taken in the middle of appends, each once, and shows the cut in its status', async () => {
    // Appends go on in the background through the cut, the submission and the job.
    let appending = true;
    let appendedWhileRunning = 0;
    const background = (async () => {
      while (appending) {
        await datasets.append(DATASET, events(random, nextId, 300), { key: 'user' });
        nextId += 300;
        appendedWhileRunning += 300;
      }
    })();
    try {
      const ends = (await datasets.describeDataset(DATASET)).partitions.map((p) => p.endOffset);
      // Inside batches too: a few records short of the ends on two partitions.
      const cut = ends.map((e, p) => (p % 2 === 0 ? e - 3 : e));
      const out = join(dir, 'cut-out');
      const jobId = await jobs.submit({ job: JOB, inputs: [`dataset:${DATASET}@${cut.join(',')}`], output: out, reducers: 2, splitSize: SPLIT_SIZE });
      const final = await jobs.wait(jobId);
      expect(final.state).toBe('SUCCEEDED');
      expect(final.cuts).toEqual([{ dataset: DATASET, offsets: cut }]);
      // More map tasks than partitions: the partitions were cut by size.
      expect(final.maps!.total).toBeGreaterThan(2 * PARTITIONS);
      expect(final.counters.find((c) => c.name === 'MAP_INPUT_RECORDS')?.value).toBe(cut.reduce((a, b) => a + b, 0));
      appending = false;
      await background;
      expect(appendedWhileRunning).toBeGreaterThan(0);
      const after = (await datasets.describeDataset(DATASET)).partitions.map((p) => p.endOffset);
      expect(after.reduce((a, b) => a + b, 0)).toBeGreaterThan(cut.reduce((a, b) => a + b, 0));

      expect((await readOutput(out)).lines.sort()).toEqual(await expectedOutput(datasets, cut));

      // `laminate status JOB` prints the cut in the form --input takes.
      const { stdout } = await run(process.execPath, [CLI, 'status', jobId, '--master', cluster.address]);
      expect(stdout).toContain(`cut       dataset:${DATASET}@${cut.join(',')}`);
    } finally {
      appending = false;
      await background;
    }
  });

  it('reads every record durable at submission for dataset:NAME, and submit --wait prints the cut it took', async () => {
    const ends = (await datasets.describeDataset(DATASET)).partitions.map((p) => p.endOffset);
    const out = join(dir, 'all-out');
    const { stdout } = await run(process.execPath, [
      CLI, 'submit', '--master', cluster.address, '--job', JOB, '--input', `dataset:${DATASET}`, '--output', out,
      '--reducers', '3', '--split-size', String(SPLIT_SIZE), '--wait',
    ]);
    expect(stdout).toMatch(new RegExp(`SUCCEEDED in [\\d.]+ s; output in ${out}\\ncut       dataset:${DATASET}@${ends.join(',')}\\n`));
    expect((await readOutput(out)).lines.sort()).toEqual(await expectedOutput(datasets, ends));
  });

  it('samples a dataset for a total-order job: part files in order hold the sorted output', async () => {
    const ends = (await datasets.describeDataset(DATASET)).partitions.map((p) => p.endOffset);
    const cut = ends.map((e) => Math.floor(e / 2));
    const out = join(dir, 'sorted-out');
    const jobId = await jobs.submit({ job: JOB, inputs: [`dataset:${DATASET}@${cut.join(',')}`], output: out, reducers: 3, splitSize: SPLIT_SIZE, totalOrder: true });
    expect((await jobs.wait(jobId)).state).toBe('SUCCEEDED');
    const { parts, lines } = await readOutput(out);
    const keys = lines.map((l) => l.slice(0, l.indexOf('\t')));
    expect(keys).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    // The sample split the keys: more than one part holds some.
    expect(parts.filter((p) => p.length > 0).length).toBeGreaterThan(1);
    expect([...lines].sort()).toEqual(await expectedOutput(datasets, cut));
  });

  describe('bad dataset inputs get a clear error and create no job', () => {
    async function refused(inputs: string[], code: string, message: RegExp): Promise<void> {
      const before = (await jobs.list()).length;
      const out = join(dir, `refused-${Math.floor(random() * 1e9)}`);
      const err = await rejection(jobs.submit({ job: JOB, inputs, output: out }));
      expect(err.code).toBe(code);
      expect(err.message).toMatch(message);
      expect((await jobs.list()).length).toBe(before);
      expect(await readdir(dir)).not.toContain(out.slice(dir.length + 1));
    }

    it('refuses an unknown dataset (NOT_FOUND)', async () => {
      await refused(['dataset:no-such-dataset'], 'NOT_FOUND', /Expected an existing dataset, got 'no-such-dataset'/);
    });

    it('refuses a cut with the wrong number of offsets, offsets that are not numbers, and one beyond a partition\'s end', async () => {
      await refused([`dataset:${DATASET}@1,2`], 'INVALID_ARGUMENT', /^Expected a cut of 4 offsets \(one per partition of dataset 'events'\), got 2 offsets$/);
      await refused([`dataset:${DATASET}@a,b,c,d`], 'INVALID_ARGUMENT', /^Expected offset 0 of the cut in --input 'dataset:events@a,b,c,d' to be a non-negative integer .*, got 'a'$/);
      const ends = (await datasets.describeDataset(DATASET)).partitions.map((p) => p.endOffset);
      const beyond = ends.map((e, p) => (p === 1 ? e + 1 : e));
      await refused([`dataset:${DATASET}@${beyond.join(',')}`], 'OUT_OF_RANGE', new RegExp(`^Expected the cut's offset for partition 1 of dataset 'events' to be at most its end ${ends[1]}, got ${ends[1]! + 1}$`));
    });

    it('refuses dataset and file inputs in one job, in the client and in the master', async () => {
      await refused([`dataset:${DATASET}`, JOB], 'INVALID_ARGUMENT', /^Expected every --input to be a dataset \(dataset:NAME\[@CUT\]\) or every one a path, got both/);
      const master = new MasterClient(cluster.address);
      try {
        const err = await rejection(master.submitJob({
          name: 'mixed', bundle: Buffer.from('export default {}'), inputs: [`dataset:${DATASET}`, '/in/a.txt'], outputDir: join(dir, 'mixed-out'),
          reducers: 1, format: '', splitSize: 0, speculation: false, mapMemoryMb: 0, reduceMemoryMb: 0, taskTimeoutMs: 0, splitPoints: [],
        }));
        expect(err.code).toBe('INVALID_ARGUMENT');
        expect(err.message).toMatch(/got both: 'dataset:events' and '\/in\/a.txt'/);
      } finally {
        master.close();
      }
    });

    it('says so on the command line, with a non-zero exit', async () => {
      const err = await run(process.execPath, [CLI, 'submit', '--master', cluster.address, '--job', JOB, '--input', `dataset:${DATASET}@1,2`, '--output', join(dir, 'cli-refused')])
        .then(() => undefined, (e: { code: number; stderr: string }) => e);
      expect(err?.code).not.toBe(0);
      expect(err?.stderr).toContain("Expected a cut of 4 offsets (one per partition of dataset 'events'), got 2 offsets");
    });
  });
});
