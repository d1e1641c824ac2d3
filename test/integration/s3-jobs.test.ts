/**
 * Jobs with their input and output on an S3-compatible store (a real
 * s3rver on 127.0.0.1, one for the file): word count read with ranged GETs
 * and committed by completing uploads, equal to the sequential run; a
 * missing bucket refused before the job starts; a worker SIGKILLed while a
 * reduce's upload is open leaves no partial object, and the job commits
 * each part once. The master and workers are child processes of the
 * compiled CLI (`npm run build` first), reading the store's endpoint and
 * keys from their environment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { LaminateError } from '../../src/common/errors.js';
import { hashPartition } from '../../src/common/partitioner.js';
import { S3ObjectStore } from '../../src/storage/s3-object-store.js';
import { startS3Server, type TestS3Server } from '../support/s3-server.js';
import { byKey, runSequential } from './reference.js';
import {
  EXAMPLES, FIXTURES, GUTENBERG, JobClient, removeDir, startMasterProc, startWorkerProc, tempDir, waitForStatus, type MasterProc, type Proc,
} from './harness.js';
import { attempts, runningOn, task, writeCorpus } from './fault-support.js';

const WORDCOUNT = join(EXAMPLES, 'wordcount.ts');
const SLOW_REDUCE_LONG = join(FIXTURES, 'jobs', 'slow-reduce-long.ts');

let s3: TestS3Server;
let dir: string;
let master: MasterProc;
let workers: Array<Proc & { id: string }>;
let client: JobClient;
let store: S3ObjectStore;

beforeAll(async () => {
  // Before the processes start: they take the store's endpoint and keys from the environment they inherit.
  s3 = await startS3Server();
  for (const b of ['lake', 'results']) await s3.createBucket(b);
  store = new S3ObjectStore(s3.client, 'results');
  dir = await tempDir('laminate-s3-');
  for (const f of await readdir(GUTENBERG)) {
    await s3.client.send(new PutObjectCommand({ Bucket: 'lake', Key: `gutenberg/${f}`, Body: await readFile(join(GUTENBERG, f)) }));
  }
  await s3.client.send(new PutObjectCommand({ Bucket: 'lake', Key: 'gutenberg/_SUCCESS', Body: 'not input' }));
  master = await startMasterProc(dir, { heartbeatTimeoutMs: 2000, heartbeatIntervalMs: 250 });
  workers = await Promise.all([0, 1].map(() => startWorkerProc(master.address, dir, { slots: 1 })));
  client = new JobClient(master.address);
});
afterAll(async () => {
  client?.close();
  for (const w of workers ?? []) await w.kill();
  await master?.kill();
  await s3?.stop();
  if (dir) await removeDir(dir);
});

/** The lines of each part of a committed output prefix in the results bucket; fails without _SUCCESS. */
async function readS3Output(prefix: string): Promise<{ keys: string[]; parts: string[][] }> {
  const keys = (await store.listAll(prefix)).map((o) => o.key.slice(prefix.length));
  expect(keys).toContain('_SUCCESS');
  const parts: string[][] = [];
  for (const k of keys.filter((name) => name.startsWith('part-'))) {
    const text = (await store.read(prefix + k)).toString('utf8');
    parts.push(text === '' ? [] : text.replace(/\n$/, '').split('\n'));
  }
  return { keys, parts };
}

describe('jobs on S3', () => {
  it('counts words read from S3 with ranged reads and commits the parts to S3, as a sequential run does', async () => {
    const jobId = await client.submit({
      job: WORDCOUNT, inputs: ['s3://lake/gutenberg/'], output: 's3://results/wc/', reducers: 3, splitSize: 512 * 1024, speculation: false,
    });
    const s = await client.wait(jobId, undefined, 100);
    expect(s.state).toBe('SUCCEEDED');
    const { keys, parts } = await readS3Output('wc/');
    // Parts and _SUCCESS only: no upload manifest, no marker, nothing of _temporary/ is left.
    expect(keys).toEqual(['_SUCCESS', 'part-00000', 'part-00001', 'part-00002']);
    expect(parts.flat().sort(byKey)).toEqual(await runSequential(WORDCOUNT, [GUTENBERG]));
    parts.forEach((p, i) => {
      expect([...p].sort(byKey)).toEqual(p);
      for (const line of p) expect(hashPartition(line.slice(0, line.indexOf('\t')), 3)).toBe(i);
    });
    // More maps than files: the files were cut into byte ranges, and each map read only its own.
    const full = await client.status(jobId);
    expect(full.maps!.total).toBeGreaterThan((await readdir(GUTENBERG)).length);
  });

  it('refuses a job whose input or output bucket does not exist before the job starts, naming the bucket', async () => {
    const before = (await client.list()).length;
    for (const [inputs, output, bucket] of [
      [['s3://no-such-lake/logs/'], 's3://results/never/', 'no-such-lake'],
      [['s3://lake/gutenberg/'], 's3://no-such-results/wc/', 'no-such-results'],
    ] as const) {
      const err = await client.submit({ job: WORDCOUNT, inputs: [...inputs], output, reducers: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LaminateError);
      expect((err as LaminateError).code).toBe('NOT_FOUND');
      expect((err as LaminateError).message).toContain(`'${bucket}'`);
    }
    expect(await client.list()).toHaveLength(before);
    expect(await store.listAll('never/')).toEqual([]);
  });

  // Last: it kills one of the two workers.
  it('leaves no partial object when a worker is SIGKILLed with a reduce upload open, and commits each part once', async () => {
    // Two quick maps, then two reduces of about a second each.
    const local = await writeCorpus(join(dir, 'in'), [{ name: 'a.txt', lines: 60 }, { name: 'b.txt', lines: 60 }], { seed: 41 });
    for (const f of ['a.txt', 'b.txt']) {
      await s3.client.send(new PutObjectCommand({ Bucket: 'lake', Key: `corpus/${f}`, Body: await readFile(join(local, f)) }));
    }
    const jobId = await client.submit({ job: SLOW_REDUCE_LONG, inputs: ['s3://lake/corpus/'], output: 's3://results/slow/', reducers: 2, speculation: false });
    const [a, b] = workers;
    const running = await waitForStatus(client, jobId, (s) => runningOn(s, a!.id, 'reduce') !== undefined || runningOn(s, b!.id, 'reduce') !== undefined);
    const victim = runningOn(running, a!.id, 'reduce') !== undefined ? a! : b!;
    const attempt = runningOn(running, victim.id, 'reduce')!;
    const partition = Number(attempt.taskId.slice(attempt.taskId.lastIndexOf('-') + 1));
    const part = `slow/part-${String(partition).padStart(5, '0')}`;
    // The attempt's upload is open once its manifest is there (written as the upload starts).
    const manifest = `slow/_temporary/${attempt.attemptId}.${victim.id}/part-${String(partition).padStart(5, '0')}.pending`;
    while ((await store.stat(manifest)) === undefined) await new Promise((r) => setTimeout(r, 20));
    await victim.kill('SIGKILL');
    expect(await store.stat(part)).toBeUndefined();

    const s = await client.wait(jobId, undefined, 100);
    expect(s.state).toBe('SUCCEEDED');
    expect(attempts(s).find((x) => x.attemptId === attempt.attemptId)!.state).toBe('KILLED');
    for (const t of s.tasks.filter((x) => x.kind === 'reduce')) {
      expect(task(s, t.taskId).attempts.filter((x) => x.state === 'SUCCEEDED')).toHaveLength(1);
    }
    const { keys, parts } = await readS3Output('slow/');
    expect(keys).toEqual(['_SUCCESS', 'part-00000', 'part-00001']);
    expect(parts.flat().sort(byKey)).toEqual(await runSequential(SLOW_REDUCE_LONG, [local]));
  });
});
