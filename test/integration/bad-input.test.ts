import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { LaminateError } from '../../src/common/errors.js';
import type { LocalCluster } from '../../src/local/local-cluster.js';
import { MasterClient } from '../../src/protocol/master-rpc.js';
import { ShuffleClient } from '../../src/protocol/shuffle-rpc.js';
import { byKey, readOutput, runSequential } from './reference.js';
import { CLI, EXAMPLES, FIXTURES, GUTENBERG, JobClient, removeDir, startLocal, tempDir } from './harness.js';

const run = promisify(execFile);
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
    expect((await rejection(m.reportAttempt({ attemptId: 'job-0999-m-00000-a1', workerId: 'worker-0001', outcome: 'SUCCEEDED' }))).code).toBe('NOT_FOUND');
    expect((await rejection(m.reportAttempt({ attemptId: 'not an id', workerId: 'x', outcome: 'SUCCEEDED' }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(m.registerWorker({ shuffleAddress: 'nowhere', slots: -1, memoryMb: 0, name: '' }))).code).toBe('INVALID_ARGUMENT');
    expect((await m.heartbeat({ workerId: 'worker-9999', runningAttemptIds: [] }, 5000)).reregister).toBe(true);
    expect((await rejection(m.getJob('job-4242'))).code).toBe('NOT_FOUND');
    m.close();
    const shuffle = new ShuffleClient(cluster.workers[0]!.shuffleAddress);
    const fetchErr = await rejection((async () => {
      for await (const chunk of shuffle.fetch({ mapAttemptId: 'job-0001-m-00000-a9', partition: 0, offset: 0, length: 10 }, 5000)) void chunk;
    })());
    expect(fetchErr.code).toBe('NOT_FOUND');
    shuffle.close();
    const out = join(dir, 'after-rpc');
    const id = await client.submit({ job: WC, inputs: [BOOK], output: out, speculation: false });
    expect((await client.wait(id)).state).toBe('SUCCEEDED');
    expect((await readOutput(out)).lines.sort(byKey)).toEqual(await runSequential(WC, [BOOK]));
  });
});

describe('the command line', () => {
  it('prints help listing every command', async () => {
    const { stdout } = await run(process.execPath, [CLI, '--help']);
    for (const cmd of ['master', 'worker', 'submit', 'status', 'local']) expect(stdout).toContain(cmd);
  });

  it('rejects --reducers that is not a positive integer, saying what it got', async () => {
    const err = await run(process.execPath, [CLI, 'submit', '--master', '127.0.0.1:1', '--job', 'x.ts', '--input', 'x', '--output', 'y', '--reducers', 'ten'])
      .then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(err?.code).not.toBe(0);
    expect(err?.stderr).toContain("Expected --reducers to be a positive integer, got 'ten'");
  });

  it('keeps an embedded cluster up with local --serve, runs submitted jobs, and stops cleanly on SIGTERM', async () => {
    const dir = await tempDir();
    const proc = spawn(process.execPath, [CLI, 'local', '--serve', '--workers', '2', '--data', join(dir, 'local')], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const address = await new Promise<string>((resolvePromise, reject) => {
        let out = '';
        proc.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /master listening on (\S+) with 2 workers/.exec(out);
          if (m) resolvePromise(m[1]!);
        });
        proc.once('exit', (code) => reject(new Error(`local --serve exited with ${code}`)));
      });
      const c = new JobClient(address);
      try {
        const out = join(dir, 'out');
        const id = await c.submit({ job: WC, inputs: [BOOK], output: out, reducers: 2 });
        expect((await c.wait(id)).state).toBe('SUCCEEDED');
        expect((await readOutput(out)).lines.sort(byKey)).toEqual(await runSequential(WC, [BOOK]));
        expect((await c.workers()).filter((w) => w.alive)).toHaveLength(2);
      } finally {
        c.close();
      }
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await removeDir(dir);
    }
  });

  it('prints plain progress lines while it waits when stderr is not a terminal', async () => {
    const dir = await tempDir();
    const cluster = await startLocal({ dataDir: join(dir, 'c'), workers: 1, slots: 1 });
    try {
      // About 1.2 s of map work at 2 ms a line: long enough for the first progress line (after 500 ms).
      const input = join(dir, 'lines.txt');
      await writeFile(input, Array.from({ length: 600 }, (_, i) => `line ${i} of words`).join('\n'));
      const job = join(FIXTURES, 'jobs', 'res-slow-count.ts');
      const { stderr } = await run(process.execPath, [CLI, 'submit', '--master', cluster.address, '--job', job, '--input', input, '--output', join(dir, 'out'), '--split-size', '4000', '--wait']);
      // ISO time, job, state, maps done/total (running), reduces likewise.
      expect(stderr).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z job-0001 (PENDING|RUNNING) maps \d+\/\d+ \(\d+ running\) reduces \d+\/1 \(\d+ running\)/m);
      expect(stderr).not.toMatch(/\u001b\[/);
    } finally {
      await cluster.stop();
      await removeDir(dir);
    }
  });

  it('submits with --wait, prints the job id and counters, and status shows the job', async () => {
    const dir = await tempDir();
    const cluster = await startLocal({ dataDir: join(dir, 'c'), workers: 1 });
    try {
      const out = join(dir, 'out');
      const { stdout } = await run(process.execPath, [CLI, 'submit', '--master', cluster.address, '--job', WC, '--input', BOOK, '--output', out, '--reducers', '2', '--wait']);
      expect(stdout).toMatch(/^job-0001\n/);
      expect(stdout).toMatch(/job-0001 SUCCEEDED/);
      expect(stdout).toMatch(/REDUCE_OUTPUT_RECORDS\s+\d+/);
      const status = await run(process.execPath, [CLI, 'status', '--master', cluster.address, 'job-0001']);
      expect(status.stdout).toMatch(/state\s+SUCCEEDED/);
      expect(status.stdout).toContain('job-0001-r-00001-a1');
      const overview = await run(process.execPath, [CLI, 'status', '--master', cluster.address]);
      expect(overview.stdout).toMatch(/worker-0001\s+127\.0\.0\.1:\d+\s+slots 0\/2/);
      expect(overview.stdout).toMatch(/job-0001\s+SUCCEEDED/);
      expect((await readOutput(out)).lines.sort(byKey)).toEqual(await runSequential(WC, [BOOK]));
    } finally {
      await cluster.stop();
      await removeDir(dir);
    }
  });
});
