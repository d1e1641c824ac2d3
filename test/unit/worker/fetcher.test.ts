import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import type { BoundServer } from '../../../src/protocol/master-rpc.js';
import type { MapOutputLocation } from '../../../src/common/task-attempt.js';
import type { FetchPartitionRequest } from '../../../src/protocol/messages.js';
import { serveShuffle, ShuffleClient } from '../../../src/protocol/shuffle-rpc.js';
import { GrowableBuffer } from '../../../src/storage/byte-sink.js';
import { appendRecord } from '../../../src/storage/record-codec.js';
import type { SortedRun } from '../../../src/storage/sorted-run.js';
import { fetchRuns, FetchFailure, type FetchOptions } from '../../../src/worker/fetcher.js';
import { useTempDirs } from '../storage/helpers.js';

/** A map output partition of `n` records `<name>-i`. */
function run(name: string, n: number): Buffer {
  const sink = new GrowableBuffer();
  for (let i = 0; i < n; i++) appendRecord(sink, `${name}-${String(i).padStart(4, '0')}`, i);
  return sink.toBuffer();
}

async function keysOf(sorted: SortedRun): Promise<string[]> {
  const keys: string[] = [];
  while (await sorted.next()) keys.push(sorted.key());
  await sorted.close();
  return keys;
}

type Serve = (req: FetchPartitionRequest) => AsyncIterable<Buffer>;

describe('fetchRuns', () => {
  const tempDir = useTempDirs();
  const servers: BoundServer[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(servers.splice(0).map((s) => s.close(100)));
  });

  /** A shuffle server; `calls` lists the attempt ids asked for, in order. */
  async function shuffle(serve: Serve): Promise<{ address: string; calls: string[] }> {
    const calls: string[] = [];
    const server = await serveShuffle({
      fetchPartition: (req) => {
        calls.push(req.mapAttemptId);
        return serve(req);
      },
    }, '127.0.0.1', 0);
    servers.push(server);
    return { address: `127.0.0.1:${server.port}`, calls };
  }

  const outputs = new Map<string, Buffer>([['m0', run('a', 50)], ['m1', run('b', 2000)], ['m2', run('c', 10)]]);
  const serveOutputs: Serve = async function* (req) {
    const data = outputs.get(req.mapAttemptId);
    if (!data) throw new LaminateError('NOT_FOUND', `no map output ${req.mapAttemptId}`);
    for (let i = 0; i < data.length; i += 1000) yield data.subarray(i, Math.min(data.length, i + 1000));
  };

  function source(mapIndex: number, attemptId: string, shuffleAddress: string, length = outputs.get(attemptId)?.length ?? 10): MapOutputLocation {
    return { mapIndex, attemptId, workerId: 'w1', shuffleAddress, partition: { offset: 0, length, records: 0 } };
  }

  async function options(over: Partial<FetchOptions> = {}): Promise<FetchOptions> {
    return { partition: 0, workDir: await tempDir(), filePrefix: 'job-0001-r-00000-a1', memoryBudget: 1 << 20, retryDelayMs: 1, ...over };
  }

  async function failure(p: Promise<unknown>): Promise<unknown> {
    return p.then(() => { throw new Error('Expected the fetch to fail'); }, (err: unknown) => err);
  }

  it('fetches every source, in memory within the budget and to files beyond it, in map order', async () => {
    const { address } = await shuffle(serveOutputs);
    const o = await options({ memoryBudget: outputs.get('m0')!.length + outputs.get('m2')!.length });
    const sources = [source(0, 'm0', address), source(1, 'm1', address), source(2, 'm2', address), source(3, 'm3', address, 0)];
    const { runs: fetched, bytes } = await fetchRuns(sources, { ...o, parallel: 1 });
    expect(bytes).toBe(outputs.get('m0')!.length + outputs.get('m1')!.length + outputs.get('m2')!.length);
    expect(fetched).toHaveLength(3);
    const keys = await Promise.all(fetched.map(keysOf));
    expect(keys.map((k) => [k.length, k[0]])).toEqual([[50, 'a-0000'], [2000, 'b-0000'], [10, 'c-0000']]);
    expect(await readdir(o.workDir)).toEqual(['job-0001-r-00000-a1.shuffle-1']);
  });

  it('turns a failing peer into a FetchFailure after the tries, naming the map', async () => {
    const { address, calls } = await shuffle(serveOutputs);
    const err = await failure(fetchRuns([source(4, 'gone', address)], { ...(await options()), tries: 3 }));
    expect(err).toBeInstanceOf(FetchFailure);
    expect(err).toMatchObject({ mapIndex: 4, mapAttemptId: 'gone' });
    expect((err as Error).message).toMatch(/could not fetch gone from .* after 3 tries: no map output gone/);
    expect(calls).toEqual(['gone', 'gone', 'gone']);
  });

  it('turns an unreachable peer and a short answer into FetchFailures', async () => {
    const unreachable = await failure(fetchRuns([source(0, 'm0', '127.0.0.1:1')], { ...(await options()), tries: 2 }));
    expect(unreachable).toBeInstanceOf(FetchFailure);
    const { address } = await shuffle(serveOutputs);
    for (const memoryBudget of [1 << 20, 0]) {
      const short = await failure(fetchRuns([source(0, 'm0', address, outputs.get('m0')!.length + 5)], { ...(await options({ memoryBudget })), tries: 1 }));
      expect(short).toBeInstanceOf(FetchFailure);
      expect((short as Error).message).toMatch(/expected \d+ bytes, got \d+/);
    }
  });

  it('fails at once, without trying or waiting to retry, when a source has no shuffle address', async () => {
    const { calls } = await shuffle(serveOutputs);
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const err = await failure(fetchRuns([source(2, 'lost', '')], { ...(await options()), retryDelayMs: 10_000, parallel: 1 }));
    expect(err).toBeInstanceOf(FetchFailure);
    expect((err as Error).message).toMatch(/no shuffle address for lost/);
    // No retry was scheduled (a retry waits retryDelayMs first), and no peer was asked.
    expect(timers.mock.calls.filter(([, ms]) => ms === 10_000)).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('rethrows a local error as it is, without retrying or blaming the map', async () => {
    const { address, calls } = await shuffle(serveOutputs);
    // The spool file cannot be created: this reducer's problem, not the map's.
    const o = await options({ memoryBudget: 0 });
    const err = await failure(fetchRuns([source(1, 'm1', address)], { ...o, workDir: join(o.workDir, 'missing'), tries: 3 }));
    expect(err).not.toBeInstanceOf(FetchFailure);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect(calls).toEqual(['m1']);
  });

  it('rethrows a peer error whose code is not a fetch failure', async () => {
    const { address } = await shuffle(async function* () {
      yield* [];
      throw new LaminateError('INVALID_ARGUMENT', 'bad partition');
    });
    const err = await failure(fetchRuns([source(0, 'm0', address)], await options()));
    expect(err).not.toBeInstanceOf(FetchFailure);
    expect(err).toMatchObject({ name: 'LaminateError', code: 'INVALID_ARGUMENT' });
  });

  it('starts no more fetches once one has failed, and lets the failure out while another is under way', async () => {
    const slow = run('s', 5);
    let slowArrived!: () => void;
    const slowHere = new Promise<void>((r) => { slowArrived = r; });
    let releaseSlow!: () => void;
    const slowGate = new Promise<void>((r) => { releaseSlow = r; });
    const { address, calls } = await shuffle(async function* (req) {
      if (req.mapAttemptId === 'slow') {
        // Under way until the test lets it go.
        slowArrived();
        await slowGate;
        yield slow;
        return;
      }
      // 'gone' fails only once 'slow' is under way, so the failure meets a fetch in flight.
      if (req.mapAttemptId === 'gone') await slowHere;
      yield* serveOutputs(req);
    });
    const sources = [source(0, 'gone', address), source(1, 'slow', address, slow.length), source(2, 'm0', address), source(3, 'm1', address), source(4, 'm2', address)];
    // Fetches started on the client side (a fetch on a closed channel never reaches the server).
    const fetchSpy = vi.spyOn(ShuffleClient.prototype, 'fetch');
    let allSettled!: () => void;
    const settled = new Promise<void>((r) => { allSettled = r; });
    // The failure comes out while 'slow' is still held: it does not wait for the fetch under way.
    const err = await failure(fetchRuns(sources, { ...(await options()), parallel: 2, tries: 1, onAllSettled: allSettled }));
    expect(err).toBeInstanceOf(FetchFailure);
    expect((err as FetchFailure).mapAttemptId).toBe('gone');
    // The fetch under way when 'gone' failed ends; the worker that ran it takes nothing more.
    releaseSlow();
    await settled;
    expect([...calls].sort()).toEqual(['gone', 'slow']);
    expect(fetchSpy.mock.calls.map(([req]) => req.mapAttemptId).sort()).toEqual(['gone', 'slow']);
  });
});
