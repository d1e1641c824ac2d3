/**
 * A map's reads of dataset splits: host-local (the segment files read in
 * place, where the master says they are) and through the master's Read,
 * both checked against the store's own reads of the same offsets.
 */
import { open } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import type { DatasetSplit } from '../../../src/common/input-split.js';
import { silentLogger } from '../../../src/common/logger.js';
import type { LogDatasetStore } from '../../../src/dataset/log-dataset-store.js';
import { createDatasetService } from '../../../src/master/dataset-service.js';
import { DatasetClient } from '../../../src/protocol/dataset-rpc.js';
import { bindServer, type BoundServer } from '../../../src/protocol/master-rpc.js';
import { remoteDatasetAccess } from '../../../src/worker/dataset-reader.js';
import { MemoryDatasetStore } from '../../support/memory-dataset-store.js';
import { batchOf, openStore, readAll, records, useTempDirs } from '../dataset/helpers.js';

const DATASET = 'clicks';

describe('a map reading a dataset split', () => {
  const dirs = useTempDirs();
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const c of closers.splice(0).reverse()) await c();
  });

  /** A store of small segments (several sealed, one active) with 60 batches of 7 records, served over gRPC. */
  async function served(store?: LogDatasetStore | MemoryDatasetStore): Promise<{ store: LogDatasetStore; address: string }> {
    const s = store ?? await openStore(join(await dirs(), 'datasets'), { segmentBytes: 4096, indexIntervalBytes: 256 });
    if (!store) {
      await s.createDataset(DATASET, { partitions: 1 });
      for (let i = 0; i < 60; i++) await s.append([batchOf(DATASET, 0, records('r', i * 7, 7))]);
    }
    const service = createDatasetService(s, silentLogger());
    const server = new grpc.Server();
    service.registration(server);
    const bound: BoundServer = await bindServer(server, '127.0.0.1', 0);
    closers.push(() => service.close(), () => bound.close(100));
    return { store: s as LogDatasetStore, address: `127.0.0.1:${bound.port}` };
  }

  async function readSplit(address: string, split: DatasetSplit, hostLocal = true): Promise<Array<{ offset: number; record: unknown }>> {
    const got: Array<{ offset: number; record: unknown }> = [];
    let next = split.startOffset;
    for await (const chunk of remoteDatasetAccess(address, { hostLocal }).readRange(split)) {
      expect(chunk.firstOffset).toBe(next);
      chunk.records.forEach((record, i) => got.push({ offset: chunk.firstOffset + i, record }));
      next += chunk.records.length;
    }
    expect(next).toBe(split.endOffset);
    return got;
  }

  const split = (startOffset: number, endOffset: number): DatasetSplit => ({ kind: 'dataset', dataset: DATASET, partition: 0, startOffset, endOffset });

  it('reads the segment files in place across sealed and active segments, mid-batch cuts included, as the store reads them', async () => {
    const { store, address } = await served();
    const all = await readAll(store, DATASET, 0);
    const located = await store.localRanges(DATASET, 0, 10, all.length - 3);
    // The range spans several segment files, the active one last.
    expect(located.length).toBeGreaterThan(3);
    const reads = vi.spyOn(DatasetClient.prototype, 'read');
    for (const [from, to] of [[10, all.length - 3], [0, all.length], [15, 16], [0, 7]] as const) {
      const got = await readSplit(address, split(from, to));
      expect(got.map((g) => g.record)).toEqual(all.slice(from, to));
      expect(got.map((g) => g.offset)).toEqual(all.slice(from, to).map((_, i) => from + i));
    }
    // The master was asked where, never for the bytes.
    expect(reads).not.toHaveBeenCalled();
  });

  it('reads through the master when told to, when the files are on another host or are other files, and when the ranges do not tile the split', async () => {
    const { store, address } = await served();
    const all = await readAll(store, DATASET, 0);
    const want = all.slice(5, 300);
    const locate = DatasetClient.prototype.locateRange;
    const reads = vi.spyOn(DatasetClient.prototype, 'read');
    expect((await readSplit(address, split(5, 300), false)).map((g) => g.record)).toEqual(want);
    expect(reads).toHaveBeenCalledTimes(1);
    // A locate that fails for another reason than the split's own (here a deadline) leaves Read to answer.
    vi.spyOn(DatasetClient.prototype, 'locateRange').mockRejectedValueOnce(new LaminateError('TIMEOUT', 'the master took too long'));
    reads.mockClear();
    expect((await readSplit(address, split(5, 300))).map((g) => g.record)).toEqual(want);
    expect(reads).toHaveBeenCalledTimes(1);
    // One that is the split's own fails the read, as Read would.
    await expect(readSplit(address, split(5, 100_000))).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
    // The answer from another host last: after it, this container does not ask that master again.
    const answers = [
      (l: NonNullable<Awaited<ReturnType<typeof locate>>>) => ({ ...l, ranges: l.ranges.map((r) => ({ ...r, ino: '1' })) }),
      (l: NonNullable<Awaited<ReturnType<typeof locate>>>) => ({ ...l, ranges: l.ranges.slice(1) }),
      (l: NonNullable<Awaited<ReturnType<typeof locate>>>) => ({ ...l, ranges: l.ranges.slice(0, -1) }),
      (l: NonNullable<Awaited<ReturnType<typeof locate>>>) => ({ ...l, ranges: l.ranges.filter((_, i) => i !== 1) }),
      (l: NonNullable<Awaited<ReturnType<typeof locate>>>) => ({ ...l, ranges: l.ranges.map((r) => ({ ...r, stamp: `${r.stamp}1` })) }),
      (l: NonNullable<Awaited<ReturnType<typeof locate>>>) => ({ ...l, host: `elsewhere-${l.host}` }),
    ];
    for (const change of answers) {
      const spy = vi.spyOn(DatasetClient.prototype, 'locateRange').mockImplementationOnce(async function (this: DatasetClient, ...args) {
        return change((await locate.apply(this, args))!);
      });
      spy.mockClear();
      reads.mockClear();
      expect((await readSplit(address, split(5, 300))).map((g) => g.record)).toEqual(want);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(reads).toHaveBeenCalledTimes(1);
    }
  });

  it('reads through a master that cannot say where (a store without files), and does not ask it again', async () => {
    const memory = new MemoryDatasetStore();
    await memory.createDataset(DATASET, { partitions: 1 });
    await memory.append([batchOf(DATASET, 0, records('m', 0, 40))]);
    const { address } = await served(memory);
    const locate = vi.spyOn(DatasetClient.prototype, 'locateRange');
    for (let i = 0; i < 2; i++) {
      expect((await readSplit(address, split(3, 30))).map((g) => (g.record as { n: number }).n)).toEqual(records('m', 3, 27).map((r) => r.n));
    }
    expect(locate).toHaveBeenCalledTimes(1);
  });

  it('fails with DATA_LOSS naming the segment file, never a wrong record, when a byte of the file is damaged', async () => {
    const { store, address } = await served();
    const [range] = await store.localRanges(DATASET, 0, 0, 7);
    // A byte in the first batch's body (past its header), on disk.
    const fh = await open(range!.path, 'r+');
    const at = range!.start + 120;
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, at);
    await fh.write(Buffer.from([byte[0]! ^ 0x40]), 0, 1, at);
    await fh.close();
    await expect(readSplit(address, split(0, 7))).rejects.toMatchObject({
      code: 'DATA_LOSS', message: expect.stringMatching(new RegExp(`in the segment file ${range!.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, got a batch whose CRC does not match`)) as unknown,
    });
  });

  it('refuses to locate records past the partition\'s end', async () => {
    const { store } = await served();
    const end = store.currentCut(DATASET)[0]!;
    await expect(store.localRanges(DATASET, 0, 0, end + 1)).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
    expect(await store.localRanges(DATASET, 0, end, end)).toEqual([]);
  });
});
