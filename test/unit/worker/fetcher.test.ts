import { readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import type { BoundServer } from '../../../src/protocol/master-rpc.js';
import type { MapOutputLocation } from '../../../src/common/task-attempt.js';
import type { FetchPartitionRequest, PartitionFile } from '../../../src/protocol/messages.js';
import { serveShuffle, ShuffleClient } from '../../../src/protocol/shuffle-rpc.js';
import { GrowableBuffer } from '../../../src/storage/byte-sink.js';
import { appendRecord } from '../../../src/storage/record-codec.js';
import type { SortedRun } from '../../../src/storage/sorted-run.js';
import { fetchRuns, FetchFailure, type FetchOptions } from '../../../src/worker/fetcher.js';
import { hostIdentity, partitionFile } from '../../../src/worker/host-local.js';
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

  /**
   * A shuffle server; `calls` lists the attempt ids asked for, in order, and
   * `located` those asked where they are (when `locate` is given).
   */
  async function shuffle(serve: Serve, locate?: (req: FetchPartitionRequest) => Promise<PartitionFile>): Promise<{ address: string; calls: string[]; located: string[] }> {
    const calls: string[] = [];
    const located: string[] = [];
    const server = await serveShuffle({
      fetchPartition: (req) => {
        calls.push(req.mapAttemptId);
        return serve(req);
      },
      ...(locate ? {
        locatePartition: (req: FetchPartitionRequest) => {
          located.push(req.mapAttemptId);
          return locate(req);
        },
      } : {}),
    }, '127.0.0.1', 0);
    servers.push(server);
    return { address: `127.0.0.1:${server.port}`, calls, located };
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

  describe('host-local reads', () => {
    /** The outputs written to files (each after a 7-byte header, so offsets are not 0), and a locate answering from them. */
    async function onDisk(): Promise<{ dir: string; locate: (req: FetchPartitionRequest) => Promise<PartitionFile> }> {
      const dir = await tempDir();
      for (const [id, data] of outputs) await writeFile(join(dir, `${id}.out`), Buffer.concat([Buffer.from('header:'), data]));
      return { dir, locate: (req) => partitionFile(join(dir, `${req.mapAttemptId}.out`)) };
    }
    function at7(mapIndex: number, attemptId: string, address: string): MapOutputLocation {
      return { ...source(mapIndex, attemptId, address), partition: { offset: 7, length: outputs.get(attemptId)!.length, records: 0 } };
    }

    it('reads map outputs on this host from their files: nothing streamed, nothing spooled, the memory budget left alone', async () => {
      const { locate } = await onDisk();
      const local = await shuffle(serveOutputs, locate);
      const remote = await shuffle(serveOutputs);
      // The budget holds m2 once: the host-local m2 must not take it, so the streamed m2 still goes to memory, not to a file.
      const o = await options({ memoryBudget: outputs.get('m2')!.length });
      const sources = [at7(0, 'm0', local.address), at7(1, 'm1', local.address), at7(2, 'm2', local.address), source(3, 'm2', remote.address)];
      const { runs: fetched, bytes, localBytes } = await fetchRuns(sources, { ...o, parallel: 1 });
      expect(local.located).toEqual(['m0', 'm1', 'm2']);
      expect(local.calls).toEqual([]);
      expect(remote.calls).toEqual(['m2']);
      expect(localBytes).toBe(outputs.get('m0')!.length + outputs.get('m1')!.length + outputs.get('m2')!.length);
      expect(bytes).toBe(localBytes + outputs.get('m2')!.length);
      const keys = await Promise.all(fetched.map(keysOf));
      expect(keys.map((k) => [k.length, k[0], k.at(-1)])).toEqual([[50, 'a-0000', 'a-0049'], [2000, 'b-0000', 'b-1999'], [10, 'c-0000', 'c-0009'], [10, 'c-0000', 'c-0009']]);
      expect(await readdir(o.workDir)).toEqual([]);
    });

    it('streams instead when the file is on another host, is another file, or the server cannot say', async () => {
      const { locate } = await onDisk();
      const elsewhere = await shuffle(serveOutputs, async (req) => ({ ...(await locate(req)), host: `not-${hostIdentity()}` }));
      const otherInode = await shuffle(serveOutputs, async (req) => ({ ...(await locate(req)), ino: '1' }));
      const unsupported = await shuffle(serveOutputs);
      for (const server of [elsewhere, otherInode, unsupported]) {
        const { runs: fetched, localBytes } = await fetchRuns([source(0, 'm0', server.address), source(1, 'm2', server.address)], { ...(await options()), parallel: 1 });
        expect(localBytes).toBe(0);
        expect(server.calls).toEqual(['m0', 'm2']);
        expect((await Promise.all(fetched.map(keysOf))).map((k) => k.length)).toEqual([50, 10]);
      }
      // A server on another host is asked once; one on this host with another file each time.
      expect(elsewhere.located).toEqual(['m0']);
      expect(otherInode.located).toEqual(['m0', 'm2']);
      // A server that said UNIMPLEMENTED is not asked again.
      const spy = vi.spyOn(ShuffleClient.prototype, 'locate');
      await fetchRuns([source(0, 'm0', unsupported.address), source(1, 'm2', unsupported.address)], { ...(await options()), parallel: 1 });
      expect(spy).toHaveBeenCalledTimes(1);
    });

    it('never asks with host-local reads off', async () => {
      const { locate } = await onDisk();
      const server = await shuffle(serveOutputs, locate);
      const { localBytes } = await fetchRuns([source(0, 'm0', server.address)], { ...(await options()), hostLocal: false });
      expect(localBytes).toBe(0);
      expect(server.located).toEqual([]);
      expect(server.calls).toEqual(['m0']);
    });

    it('takes a failed locate as a failed fetch: tried again, then a FetchFailure naming the map', async () => {
      const { locate } = await onDisk();
      const server = await shuffle(serveOutputs, locate);
      const err = await failure(fetchRuns([source(3, 'gone', server.address)], { ...(await options()), tries: 2 }));
      expect(err).toBeInstanceOf(FetchFailure);
      expect(err).toMatchObject({ mapIndex: 3, mapAttemptId: 'gone' });
      expect((err as Error).message).toMatch(/after 2 tries: Map output .*gone\.out' does not exist/);
      expect(server.located).toEqual(['gone', 'gone']);
      expect(server.calls).toEqual([]);
    });

    it('fails with a FetchFailure naming the map when the file is gone by the time the merge reads it', async () => {
      const { dir, locate } = await onDisk();
      const server = await shuffle(serveOutputs, locate);
      const { runs: fetched } = await fetchRuns([at7(5, 'm1', server.address)], await options());
      expect((await stat(join(dir, 'm1.out'))).isFile()).toBe(true);
      await rm(join(dir, 'm1.out'));
      const err = await failure(keysOf(fetched[0]!));
      expect(err).toBeInstanceOf(FetchFailure);
      expect(err).toMatchObject({ mapIndex: 5, mapAttemptId: 'm1' });
      expect((err as Error).message).toMatch(/was gone when the reduce came to read it/);
    });

    it('fails with a FetchFailure when another file was written at the path, though it got the same inode back', async () => {
      const { dir, locate } = await onDisk();
      const server = await shuffle(serveOutputs, locate);
      const { runs: fetched } = await fetchRuns([at7(6, 'm1', server.address)], await options());
      const path = join(dir, 'm1.out');
      const before = await stat(path, { bigint: true });
      await rm(path);
      // Another output of the same length: a check of device, inode and size alone could take it for the first.
      await writeFile(path, Buffer.concat([Buffer.from('header:'), run('z', 2000)]));
      expect((await stat(path)).size).toBe(Number(before.size));
      const err = await failure(keysOf(fetched[0]!));
      expect(err).toBeInstanceOf(FetchFailure);
      expect(err).toMatchObject({ mapIndex: 6, mapAttemptId: 'm1' });
      expect((err as Error).message).toMatch(/was replaced when the reduce came to read it/);
    });
  });
});
