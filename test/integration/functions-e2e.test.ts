/**
 * Functions end to end with real processes: a `laminate master` and two
 * `laminate worker`s (containers are child processes of the workers), the
 * CLI spawned for deploy, invoke and logs, and LaminateClient beside it.
 * One cluster serves every case; each expectation is computed here from
 * the inputs, never taken from a run.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetRecord } from '../../src/storage/record-body.js';
import { LaminateClient } from '../../src/client/laminate-client.js';
import { CLI, removeDir, startMasterProc, startWorkerProc, tempDir, type MasterProc, type Proc } from './harness.js';

const execFileP = promisify(execFile);

/** The handlers, as a user writes them (bundled by deploy; `laminate` resolves to this installation). */
const HANDLERS: Record<string, string> = {
  // Sums its items, emits each with the request id, logs one line.
  echo: `export default defineFunction(async (event, ctx) => {
  console.log('echo-line ' + ctx.requestId);
  for (const item of event.items) await ctx.emit('echo-out', { ...item, requestId: ctx.requestId });
  return { sum: event.items.reduce((s, i) => s + i.n, 0), requestId: ctx.requestId };
});`,
  // One output record per input record, with where it came from.
  copy: `export default defineFunction(async (event, ctx) => {
  for (let i = 0; i < event.records.length; i++) {
    await ctx.emit('copied', { eventId: ctx.eventId, partition: event.partition, offset: event.firstOffset + i, record: event.records[i] });
  }
});`,
  // Tells which worker (its parent) runs it, then never resolves.
  hang: `import { writeFileSync } from 'node:fs';
export default defineFunction(async (event) => { writeFileSync(event.mark, String(process.ppid)); await new Promise(() => {}); });`,
  hog: `import { writeFileSync } from 'node:fs';
export default defineFunction(async (event) => {
  writeFileSync(event.mark, String(process.ppid));
  const kept = [];
  for (;;) kept.push(new Array(1e5).fill(kept.length));
});`,
  quit: `import { writeFileSync } from 'node:fs';
export default defineFunction(async (event) => { writeFileSync(event.mark, String(process.ppid)); process.exit(3); });`,
  ping: `export default defineFunction(async (event) => ({ pong: event.x * 2, worker: process.ppid }));`,
  fail: `export default defineFunction(async (event, ctx) => { throw new Error('refused ' + ctx.eventId); });`,
  // Marks its start (event id and worker), sleeps 3 s, then emits its event id.
  slow: `import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default defineFunction(async (event, ctx) => {
  writeFileSync(join(event.dir, 'started-' + process.ppid), ctx.eventId);
  await new Promise((r) => setTimeout(r, 3000));
  await ctx.emit('slow-out', { eventId: ctx.eventId, worker: process.ppid });
});`,
};

interface Failure { code: number | null; stdout: string; stderr: string }

describe('functions end to end on real processes', () => {
  let dir: string;
  let master: MasterProc;
  const workers: (Proc & { id: string })[] = [];
  let client: LaminateClient;

  const cli = async (...args: string[]): Promise<string> =>
    (await execFileP(process.execPath, [CLI, 'function', ...args, '--master', master.address])).stdout;
  const cliFails = async (...args: string[]): Promise<Failure> => {
    try {
      await cli(...args);
    } catch (err) {
      const e = err as { code: number | null; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
    throw new Error(`expected laminate function ${args.join(' ')} to fail`);
  };
  const file = (name: string): string => join(dir, 'fns', `${name}.ts`);
  const readAll = async (dataset: string): Promise<{ partition: number; offset: number; record: DatasetRecord }[]> => {
    const out: { partition: number; offset: number; record: DatasetRecord }[] = [];
    for (const p of (await client.describeDataset(dataset)).partitions) {
      if (p.records === 0) continue;
      for await (const r of client.read(dataset, { partition: p.partition, endOffset: p.endOffset })) out.push(r);
    }
    return out;
  };
  /** Polls (every 50 ms) until `pred` holds for the dataset's records, or fails after timeoutMs. */
  const waitForRecords = async (dataset: string, pred: (rs: DatasetRecord[]) => boolean, timeoutMs = 30_000): Promise<DatasetRecord[]> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const rs = (await readAll(dataset)).map((r) => r.record);
      if (pred(rs)) return rs;
      if (Date.now() > until) throw new Error(`timed out waiting on dataset ${dataset}: ${JSON.stringify(rs).slice(0, 2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const workerByPid = (pid: number): Proc & { id: string } => {
    const w = workers.find((x) => x.proc.pid === pid);
    if (!w) throw new Error(`expected pid ${pid} to be one of the workers ${workers.map((x) => x.proc.pid).join(', ')}`);
    return w;
  };

  beforeAll(async () => {
    dir = await tempDir();
    await mkdir(join(dir, 'fns'));
    await mkdir(join(dir, 'marks'));
    for (const [name, body] of Object.entries(HANDLERS)) {
      await writeFile(file(name), `import { defineFunction } from 'laminate';\n${body}\n`);
    }
    master = await startMasterProc(dir, { args: ['--function-retry-backoff', '100'] });
    for (let i = 0; i < 2; i++) workers.push(await startWorkerProc(master.address, dir, { slots: 2, memoryMb: 1024 }));
    client = new LaminateClient(master.address);
  });

  afterAll(async () => {
    await client?.close();
    for (const w of workers) await w.kill();
    await master?.kill();
    await removeDir(dir);
  });

  it('a synchronous invoke (CLI and library) returns the result; its emits land in a dataset; its console line is in the logs with the request id', async () => {
    await client.createDataset('echo-out', { partitions: 2 });
    await client.deployFunction(file('echo'), { timeoutMs: 10_000 });
    const a = [{ n: 3 }, { n: 4 }];
    const b = [{ n: 10 }, { n: -2 }, { n: 7 }];
    const viaCli = JSON.parse(await cli('invoke', 'echo', '--payload', JSON.stringify({ items: a }))) as { sum: number; requestId: string };
    const viaLib = await client.invoke('echo', { items: b });
    expect(viaLib.ok).toBe(true);
    const lib = (viaLib as { result: { sum: number; requestId: string } }).result;
    expect([viaCli.sum, lib.sum]).toEqual([a.reduce((s, i) => s + i.n, 0), b.reduce((s, i) => s + i.n, 0)]);
    expect(viaCli.requestId).not.toBe(lib.requestId);

    const expected = [...a.map((i) => ({ ...i, requestId: viaCli.requestId })), ...b.map((i) => ({ ...i, requestId: lib.requestId }))];
    const byKey = (x: DatasetRecord): string => JSON.stringify(x);
    expect((await readAll('echo-out')).map((r) => r.record).sort((x, y) => byKey(x).localeCompare(byKey(y))))
      .toEqual(expected.sort((x, y) => byKey(x).localeCompare(byKey(y))));

    const logs = (await cli('logs', 'echo')).split('\n');
    for (const id of [viaCli.requestId, lib.requestId]) {
      expect(logs.filter((l) => l.includes(` ${id} `) && l.endsWith(`echo-line ${id}`))).toHaveLength(1);
    }
  });

  it('a dataset trigger delivers every record appended after the deploy, at least once, with a stable event id', async () => {
    await client.createDataset('events', { partitions: 2 });
    await client.append('events', Array.from({ length: 5 }, (_, i) => ({ history: i })));
    await cli('deploy', file('copy'), '--trigger', 'dataset:events', '--batch-size', '4', '--timeout', '10s');
    await client.createDataset('copied', { partitions: 1 });
    await master.waitFor(/"dataset":"events"[^\n]*dataset trigger starts at the log end/);
    const history = await readAll('events');
    const historyKeys = new Set(history.map((r) => `${r.partition}:${r.offset}`));
    for (let chunk = 0; chunk < 3; chunk++) {
      await client.append('events', Array.from({ length: 7 }, (_, i) => ({ n: chunk * 7 + i })));
    }
    const input = (await readAll('events')).filter((r) => !historyKeys.has(`${r.partition}:${r.offset}`));
    expect(input).toHaveLength(21);
    const want = new Map(input.map((r) => [`${r.partition}:${r.offset}`, r.record]));

    type Copied = { eventId: string; partition: number; offset: number; record: DatasetRecord };
    const out = await waitForRecords('copied', (rs) => {
      const seen = new Set((rs as Copied[]).map((r) => `${r.partition}:${r.offset}`));
      return [...want.keys()].every((k) => seen.has(k));
    }) as Copied[];
    // The same set of (partition, offset), each with its record; a repeat only from a retried event (same event id).
    expect(new Map(out.map((r) => [`${r.partition}:${r.offset}`, r.record]))).toEqual(want);
    const eventIds = new Map<string, Set<string>>();
    for (const r of out) eventIds.set(`${r.partition}:${r.offset}`, (eventIds.get(`${r.partition}:${r.offset}`) ?? new Set()).add(r.eventId));
    expect([...eventIds.values()].every((ids) => ids.size === 1)).toBe(true);
    // The trigger's iterator age reaches `function list` (the master's wiring): 0 once caught up, absent if not wired.
    await expect.poll(async () => (await client.listFunctions()).find((f) => f.live.name === 'copy')?.metrics.iteratorAgeMs, { timeout: 10_000 }).toBe(0);
  });

  it('a handler that hangs, outgrows its memory or exits fails with TIMEOUT, OUT_OF_MEMORY, PROCESS_EXITED; its worker goes on', async () => {
    // Deployed through the library (the CLI's flags are covered by the other cases); invoked through the CLI for its exit code.
    await client.deployFunction(file('ping'), { timeoutMs: 5000 });
    const cases = [
      { name: 'hang', options: { timeoutMs: 1000 }, code: 'TIMEOUT' },
      { name: 'hog', options: { memoryMb: 128, timeoutMs: 30_000 }, code: 'OUT_OF_MEMORY' },
      { name: 'quit', options: { timeoutMs: 5000 }, code: 'PROCESS_EXITED' },
    ];
    for (const [i, c] of cases.entries()) {
      await client.deployFunction(file(c.name), c.options);
      const mark = join(dir, 'marks', c.name);
      const failed = await cliFails('invoke', c.name, '--payload', JSON.stringify({ mark }));
      expect(failed.code).not.toBe(0);
      expect(failed.stdout).toBe('');
      expect(failed.stderr).toMatch(new RegExp(`^laminate: ${c.code}: `, 'm'));
      // The worker that ran it is still up, and a normal function still answers.
      const ranOn = workerByPid(Number(await readFile(mark, 'utf8')));
      expect([ranOn.proc.exitCode, ranOn.proc.signalCode]).toEqual([null, null]);
      const pong = await client.invoke('ping', { x: i + 20 });
      expect(pong).toMatchObject({ ok: true, result: { pong: (i + 20) * 2 } });
      expect(workerByPid((pong as { result: { worker: number } }).result.worker).proc.exitCode).toBeNull();
    }
  });

  it('an async event that always fails is retried once, then dead-lettered with both attempts\' errors', async () => {
    await cli('deploy', file('fail'), '--retries', '1', '--dead-letter', 'dataset:dlq', '--timeout', '5s');
    const ac = new AbortController();
    const following = (async () => {
      for await (const l of client.functionLogs('fail', { follow: true, signal: ac.signal })) {
        if (l.message.includes('sent to dead-letter dataset dlq')) ac.abort();
      }
    })();
    const payload = { order: 42 };
    const { eventId } = JSON.parse(await cli('invoke', 'fail', '--async', '--payload', JSON.stringify(payload))) as { eventId: string };
    await following;
    const attempt = { code: 'HANDLER_ERROR', message: expect.stringContaining(`refused ${eventId}`), at: expect.any(Number) };
    expect((await readAll('dlq')).map((r) => r.record)).toEqual([
      { event: payload, eventId, function: 'fail', version: 1, attempts: [attempt, attempt] },
    ]);
  });

  it('an async event whose worker is SIGKILLed mid-invocation runs again on the other worker with the same event id', async () => {
    await client.createDataset('slow-out', { partitions: 1 });
    const marks = join(dir, 'slow-marks');
    await mkdir(marks);
    await client.deployFunction(file('slow'), { timeoutMs: 20_000 });
    const { eventId } = await client.invoke('slow', { dir: marks }, { async: true });
    // Waits for the first attempt to start, then kills the worker running it (its containers die with it).
    // A marker counts once its content is written too (the handler's writeFile creates it empty first).
    let started: string[] = [];
    for (const until = Date.now() + 30_000; started.length === 0 && Date.now() < until;) {
      const names = await readdir(marks);
      const written = await Promise.all(names.map(async (n) => (await readFile(join(marks, n), 'utf8')).length > 0));
      started = names.filter((_, i) => written[i]);
      if (started.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(started).toHaveLength(1);
    const victim = workerByPid(Number(started[0]!.replace('started-', '')));
    expect(await readFile(join(marks, started[0]!), 'utf8')).toBe(eventId);
    await victim.kill('SIGKILL');
    const survivor = workers.find((w) => w !== victim)!;
    const out = await waitForRecords('slow-out', (rs) => rs.some((r) => (r as { worker: number }).worker === survivor.proc.pid));
    expect(out.filter((r) => (r as { worker: number }).worker === survivor.proc.pid)).toEqual([{ eventId, worker: survivor.proc.pid }]);
  });
});
