import { describe, expect, it } from 'vitest';
import { metricsRegistry } from '../../../src/common/metrics.js';
import type { AppendResult } from '../../../src/dataset/types.js';
import { appendOne, batchOf, openStore, readAll, records, rejectsWith, TestFileSystem, useTempDirs } from './helpers.js';

/** Resolves once `cond` holds, checking after every turn of the event loop's I/O (no timers). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((resolve) => setImmediate(resolve));
}

describe('group commit, durability and back-pressure', () => {
  const tempDir = useTempDirs();

  it('shares one fsync among every append that arrived while the previous one was in flight', async () => {
    const fs = new TestFileSystem();
    const store = await openStore(await tempDir(), { fs });
    await store.createDataset('d', { partitions: 1 });
    const before = fs.datasyncs;
    const buffersBefore = fs.buffersWrittenDone;
    fs.hold();
    const first = appendOne(store, batchOf('d', 0, ['first']));
    await until(() => fs.waiting === 1);
    const rest = Array.from({ length: 200 }, (_, i) => appendOne(store, batchOf('d', 0, [i])));
    // The 200 are written while the first fsync is still in flight (a header and a body each), their writevs
    // returned: counted when a writev only started, the last could still be under way at the release, and its group
    // then took a third fsync (seen once in CI).
    await until(() => fs.buffersWrittenDone === buffersBefore + 2 * 201);
    expect(fs.waiting).toBe(1);
    expect(fs.datasyncs).toBe(before);
    fs.release();
    const results = await Promise.all([first, ...rest]);
    // ...so one fsync serves the first append, and one the 200 that came while it was in flight.
    expect(fs.datasyncs - before).toBe(2);
    // Offsets are dense, in the order the appends were made.
    expect(results.map((r) => r.firstOffset)).toEqual(Array.from({ length: 201 }, (_, i) => i));
    expect(await readAll(store, 'd', 0)).toEqual(['first', ...Array.from({ length: 200 }, (_, i) => i)]);
    await store.close();
  });

  it('times each Append call in the store, from its arrival to its acknowledgement, the fsync included', async () => {
    const fs = new TestFileSystem();
    const store = await openStore(await tempDir(), { fs });
    await store.createDataset('d', { partitions: 1 });
    const observed = async (): Promise<{ count: number; sum: number }> => {
      // A histogram's values carry the series' name (prom-client's MetricValueWithName).
      const values = (await metricsRegistry().getSingleMetric('laminate_dataset_append_duration_seconds')!.get()).values as Array<{ metricName?: string; value: number }>;
      const pick = (name: string): number => values.find((v) => v.metricName === name)?.value ?? 0;
      return { count: pick('laminate_dataset_append_duration_seconds_count'), sum: pick('laminate_dataset_append_duration_seconds_sum') };
    };
    const before = await observed();
    fs.hold();
    const pending = appendOne(store, batchOf('d', 0, ['held']));
    await until(() => fs.waiting === 1);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect((await observed()).count).toBe(before.count);
    fs.release();
    await pending;
    const after = await observed();
    expect(after.count).toBe(before.count + 1);
    // At least the 40 ms the fsync was held (other files' appends in this process may add to the sum, never take from it).
    expect(after.sum - before.sum).toBeGreaterThanOrEqual(0.04);
    await store.close();
  });

  it('acknowledges nothing and shows readers nothing before the fsync returns', async () => {
    const fs = new TestFileSystem();
    const store = await openStore(await tempDir(), { fs });
    await store.createDataset('d', { partitions: 1 });
    await appendOne(store, batchOf('d', 0, ['durable']));
    fs.hold();
    let acknowledged: AppendResult | undefined;
    const pending = appendOne(store, batchOf('d', 0, ['pending'])).then((r) => (acknowledged = r));
    let woken = false;
    const waiting = store.waitForRecords('d', 0, 1).then(() => (woken = true));
    await until(() => fs.waiting === 1);
    // Written to the file, but not fsync'd: invisible.
    expect(fs.bytesWritten).toBeGreaterThan(0);
    expect(acknowledged).toBeUndefined();
    expect(woken).toBe(false);
    expect(store.currentCut('d')).toEqual([1]);
    expect((await store.read('d', 0, 1)).count).toBe(0);
    expect(store.describeDataset('d').partitions[0]!.endOffset).toBe(1);
    fs.release();
    await Promise.all([pending, waiting]);
    expect(acknowledged).toMatchObject({ firstOffset: 1 });
    expect(woken).toBe(true);
    expect(store.currentCut('d')).toEqual([2]);
    await store.close();
  });

  it('makes appends past the bound of bytes in flight wait, first come first served, then lets them all through', async () => {
    const fs = new TestFileSystem();
    const bound = 10_000;
    const store = await openStore(await tempDir(), { fs, maxInFlightBytes: bound });
    await store.createDataset('d', { partitions: 2 });
    fs.hold();
    const batches = Array.from({ length: 60 }, (_, i) => batchOf('d', i % 2, records('q', i, 10, 60)));
    const size = batches[0]!.body.byteLength;
    expect(size).toBeGreaterThan(500);
    const done: number[] = [];
    const appends = batches.map((b, i) => appendOne(store, b).then((r) => (done.push(i), r)));
    await until(() => fs.waiting === 2);
    const stats = store.stats();
    expect(stats.inFlightBytes).toBeLessThanOrEqual(bound);
    expect(stats.inFlightBytes).toBeGreaterThan(bound - size);
    expect(stats.waitingAppends).toBe(60 - stats.inFlightBytes / size);
    fs.release();
    const results = await Promise.all(appends);
    expect(store.stats()).toEqual({ inFlightBytes: 0, waitingAppends: 0 });
    // Let in in call order, so each partition's offsets follow the calls.
    for (const p of [0, 1]) {
      const offsets = results.filter((r) => r.partition === p).map((r) => r.firstOffset);
      expect(offsets).toEqual(Array.from({ length: 30 }, (_, i) => i * 10));
    }
    expect(done.length).toBe(60);
    await store.close();
  });

  it('lets a batch larger than the whole bound in alone', async () => {
    const store = await openStore(await tempDir(), { maxInFlightBytes: 1000 });
    await store.createDataset('d', { partitions: 1 });
    const big = batchOf('d', 0, records('big', 0, 50, 100));
    expect(big.body.byteLength).toBeGreaterThan(1000);
    const results = await Promise.all([appendOne(store, big), appendOne(store, batchOf('d', 0, ['after']))]);
    expect(results.map((r) => r.firstOffset)).toEqual([0, 50]);
    await store.close();
  });

  it('wakes a waiter on the commit that passes its offset, rejects it CANCELLED on abort, UNAVAILABLE on close', async () => {
    const store = await openStore(await tempDir());
    await store.createDataset('d', { partitions: 1 });
    let woken = false;
    const waiter = store.waitForRecords('d', 0, 2).then(() => (woken = true));
    await appendOne(store, batchOf('d', 0, ['a', 'b']));
    await new Promise((resolve) => setImmediate(resolve));
    expect(woken).toBe(false); // the end is 2: offset 2 is not there yet
    await appendOne(store, batchOf('d', 0, ['c']));
    await waiter;
    expect(woken).toBe(true);
    await store.waitForRecords('d', 0, 0); // already durable: at once
    const ac = new AbortController();
    const aborted = store.waitForRecords('d', 0, 10, ac.signal);
    ac.abort();
    await rejectsWith(aborted, 'CANCELLED');
    await rejectsWith(store.waitForRecords('d', 0, 10, ac.signal), 'CANCELLED');
    await rejectsWith(store.waitForRecords('d', 0, -1), 'INVALID_ARGUMENT');
    const closing = rejectsWith(store.waitForRecords('d', 0, 10), 'UNAVAILABLE');
    await store.close();
    await closing;
  });

  it('fails a partition whose fsync fails: the append is refused and so is every later one, until reopen', async () => {
    const dir = await tempDir();
    const fs = new TestFileSystem();
    let store = await openStore(dir, { fs });
    await store.createDataset('d', { partitions: 2 });
    await appendOne(store, batchOf('d', 0, ['ok']));
    fs.failDatasync = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    await rejectsWith(store.append([batchOf('d', 0, ['lost'])]), 'UNAVAILABLE', /Expected to write dataset 'd' partition 0, got EIO: i\/o error, fdatasync; its appends are refused until the store is reopened/);
    fs.failDatasync = undefined;
    await rejectsWith(store.append([batchOf('d', 0, ['later'])]), 'UNAVAILABLE');
    // Other partitions go on; reads of the failed one serve what was durable.
    expect((await appendOne(store, batchOf('d', 1, ['other']))).firstOffset).toBe(0);
    expect(await readAll(store, 'd', 0)).toEqual(['ok']);
    await store.close();
    // No clean-shutdown mark after a failure: the next open recovers.
    store = await openStore(dir);
    expect((await appendOne(store, batchOf('d', 0, ['again']))).partition).toBe(0);
    await store.close();
  });
  it('refuses an append whose write was under way when the fsync before it failed, and gives its bytes back', async () => {
    const dir = await tempDir();
    const fs = new TestFileSystem();
    const store = await openStore(dir, { fs });
    await store.createDataset('d', { partitions: 1 });
    await appendOne(store, batchOf('d', 0, ['ok']));
    // A's fsync is in flight while B's writev is under way.
    fs.hold();
    const a = store.append([batchOf('d', 0, ['a'])]).then(() => 'acknowledged', (err: { code: string }) => err.code);
    await until(() => fs.waiting === 1);
    fs.holdWrites();
    const writesBefore = fs.writes;
    const b = store.append([batchOf('d', 0, ['b'])]).then(() => 'acknowledged', (err: { code: string }) => err.code);
    await until(() => fs.waitingWrites === 1);
    expect(store.stats().inFlightBytes).toBeGreaterThan(0);
    // The fsync fails (A is refused), then B's writev returns.
    fs.failDatasync = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    fs.release();
    expect(await a).toBe('UNAVAILABLE');
    fs.releaseWrites();
    await store.close();
    await new Promise((resolve) => setImmediate(resolve));
    // B's writev (started before the failure) is the only write since: nothing more went into the failed file.
    expect(fs.writes).toBe(writesBefore + 1);
    // Refused, not left waiting for an fsync that will never come, and its bytes released.
    expect(await Promise.race([b, Promise.resolve('still waiting')])).toBe('UNAVAILABLE');
    expect(store.stats()).toEqual({ inFlightBytes: 0, waitingAppends: 0 });
  });
});
