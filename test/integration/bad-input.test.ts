import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { LaminateError } from '../../src/common/errors.js';
import type { LocalCluster } from '../../src/local/index.js';
import { MasterClient } from '../../src/protocol/master-rpc.js';
import { ShuffleClient } from '../../src/protocol/shuffle-rpc.js';
import { byKey, readOutput, runSequential } from './reference.js';
import { EXAMPLES, FIXTURES, GUTENBERG, JobClient, removeDir, startLocal, tempDir } from './harness.js';

const BOOK = join(GUTENBERG, 'pg-being_ernest.txt');
const WC = join(EXAMPLES, 'wordcount.ts');

async function rejection(p: Promise<unknown>): Promise<LaminateError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(LaminateError);
  return err as LaminateError;
}

describe('bad input gets a clear error and changes nothing', () => {
  let dir: string;
  let cluster: LocalCluster;
  let client: JobClient;

  beforeAll(async () => {
    dir = await tempDir();
    cluster = await startLocal({ dataDir: join(dir, 'cluster'), workers: 1, slots: 2 });
    client = new JobClient(cluster.address);
  });
  afterAll(async () => {
    client.close();
    await cluster.stop();
    await removeDir(dir);
  });

  it('refuses a job module that does not build, naming the file and line', async () => {
    const err = await rejection(client.submit({ job: join(FIXTURES, 'jobs', 'bad-syntax.ts'), inputs: [BOOK], output: join(dir, 'x1') }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/bad-syntax\.ts.*does not build.*bad-syntax\.ts:\d+/);
  });

  it('refuses a job module without a reduce function', async () => {
    const err = await rejection(client.submit({ job: join(FIXTURES, 'jobs', 'bad-no-reduce.ts'), inputs: [BOOK], output: join(dir, 'x2') }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/to have a reduce function, got undefined/);
  });

  it('refuses a missing input path, naming it', async () => {
    const missing = join(dir, 'no-such-input');
    const err = await rejection(client.submit({ job: WC, inputs: [missing], output: join(dir, 'x3') }));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain(missing);
    expect(await readdir(dir)).not.toContain('x3');
  });

  it('refuses a non-positive number of reducers', async () => {
    const err = await rejection(client.submit({ job: WC, inputs: [BOOK], output: join(dir, 'x4'), reducers: 0 }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe('Expected --reducers to be a positive integer, got 0');
  });

  it('refuses an output folder that already has output, and leaves it as it was', async () => {
    const out = join(dir, 'taken');
    await mkdir(out);
    await writeFile(join(out, 'part-00000'), 'precious\t1\n');
    const err = await rejection(client.submit({ job: WC, inputs: [BOOK], output: out }));
    expect(err.code).toBe('ALREADY_EXISTS');
    expect(err.message).toContain(out);
    expect(await readdir(out)).toEqual(['part-00000']);
    expect(await readFile(join(out, 'part-00000'), 'utf8')).toBe('precious\t1\n');
  });

  it('fails a job on a malformed jsonl line, naming the file and line, with no output', async () => {
    const input = join(dir, 'events.jsonl');
    const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ user: `u${i % 7}`, amount: i }));
    lines[36] = '{"user": "u1", "amount": ';
    await writeFile(input, `${lines.join('\n')}\n`);
    const out = join(dir, 'jsonl-out');
    const id = await client.submit({ job: join(FIXTURES, 'jobs', 'jsonl-sum.ts'), inputs: [input], output: out, format: 'jsonl', splitSize: 300 });
    const s = await client.wait(id);
    expect(s.state).toBe('FAILED');
    expect(s.failures).toHaveLength(1);
    expect(s.failures[0]!.code).toBe('NON_RETRYABLE');
    expect(s.failures[0]!.message).toContain(`${input} at line 37`);
    expect((await readdir(out).catch(() => [])).filter((f) => f.startsWith('part-') || f === '_SUCCESS')).toEqual([]);
  });

  it('refuses at submit a total-order job whose sampled jsonl input is malformed, naming the file and line', async () => {
    const input = join(dir, 'sampled.jsonl');
    const lines = Array.from({ length: 30 }, (_, i) => JSON.stringify({ user: `u${i}`, amount: i }));
    lines[11] = '{"user": ';
    await writeFile(input, `${lines.join('\n')}\n`);
    const out = join(dir, 'sampled-out');
    const err = await rejection(client.submit({ job: join(FIXTURES, 'jobs', 'jsonl-sum.ts'), inputs: [input], output: out, format: 'jsonl', reducers: 3, totalOrder: true }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain(`${input} at line 12`);
    expect(await readdir(dir)).not.toContain('sampled-out');
  });

  it('sums well-formed jsonl records as a sequential run does', async () => {
    const input = join(dir, 'good.jsonl');
    const lines = Array.from({ length: 500 }, (_, i) => JSON.stringify({ user: `u${(i * 7) % 13}`, amount: i }));
    await writeFile(input, `${lines.join('\n')}\n`);
    const out = join(dir, 'good-out');
    const job = join(FIXTURES, 'jobs', 'jsonl-sum.ts');
    const id = await client.submit({ job, inputs: [input], output: out, format: 'jsonl', splitSize: 1000, reducers: 2 });
    expect((await client.wait(id)).state).toBe('SUCCEEDED');
    expect((await readOutput(out)).lines.sort(byKey)).toEqual(await runSequential(job, [input], 'jsonl'));
  });

  it('survives malformed and unexpected RPCs, and still runs jobs', async () => {
    // Bytes that are not a protobuf message at all.
    const raw = new grpc.Client(cluster.address, grpc.credentials.createInsecure());
    const status = await new Promise<grpc.status>((resolve) => {
      raw.makeUnaryRequest('/laminate.v1.Master/SubmitJob', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        (err) => resolve(err?.code ?? grpc.status.OK));
    });
    expect(status).not.toBe(grpc.status.OK);
    raw.close();
    const m = new MasterClient(cluster.address);
    expect((await rejection(m.reportAttempt({ attemptId: 'job-0999-m-00000-a1', workerId: 'worker-0001', result: { outcome: 'SUCCEEDED', counters: {} } }))).code).toBe('NOT_FOUND');
    expect((await rejection(m.reportAttempt({ attemptId: 'not an id', workerId: 'x', result: { outcome: 'SUCCEEDED', counters: {} } }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(m.registerWorker({ shuffleAddress: 'nowhere', slots: -1, memoryMb: 0, name: '', externalShuffle: false }))).code).toBe('INVALID_ARGUMENT');
    expect((await m.heartbeat({ workerId: 'worker-9999', runningAttemptIds: [], functionContainerIds: [] }, 5000)).reregister).toBe(true);
    expect((await rejection(m.getJob('job-4242'))).code).toBe('NOT_FOUND');
    m.close();
    const shuffle = new ShuffleClient(cluster.workers[0]!.shuffleAddress);
    const fetchErr = await rejection((async () => {
      for await (const chunk of shuffle.fetch({ mapAttemptId: 'job-0001-m-00000-a9', partition: 0, offset: 0, length: 10, workerId: 'worker-0001' }, 5000)) void chunk;
    })());
    expect(fetchErr.code).toBe('NOT_FOUND');
    shuffle.close();
    const out = join(dir, 'after-rpc');
    const id = await client.submit({ job: WC, inputs: [BOOK], output: out, speculation: false });
    expect((await client.wait(id)).state).toBe('SUCCEEDED');
    expect((await readOutput(out)).lines.sort(byKey)).toEqual(await runSequential(WC, [BOOK]));
  });
});
