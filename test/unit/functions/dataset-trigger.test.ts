import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock, type Clock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/common/logger.js';
import { LogDatasetStore } from '../../../src/dataset/log-dataset-store.js';
import { DatasetTrigger } from '../../../src/functions/triggers/dataset-trigger.js';
import { TriggerState } from '../../../src/functions/triggers/trigger.js';
import { encodeBody } from '../../../src/storage/record-body.js';
import { deferred, FakeFunctions, type Delivery } from '../../support/fake-functions.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('laminate-dataset-trigger-');
const stores: LogDatasetStore[] = [];
const triggers: DatasetTrigger[] = [];
afterEach(async () => {
  await Promise.all(triggers.splice(0).map((t) => t.stop()));
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

interface DatasetEvent { dataset: string; partition: number; firstOffset: number; records: unknown[] }

async function setup(partitions = 2): Promise<{ store: LogDatasetStore; dir: string }> {
  const dir = await tempDir();
  const store = await LogDatasetStore.open({ dir: join(dir, 'datasets'), logger: silentLogger() });
  stores.push(store);
  await store.createDataset('clicks', { partitions });
  return { store, dir };
}

async function append(store: LogDatasetStore, partition: number, records: unknown[]): Promise<void> {
  await store.append([{ dataset: 'clicks', partition, body: encodeBody(records), count: records.length }]);
}

async function startTrigger(store: LogDatasetStore, dir: string, fns: FakeFunctions, batchSize: number, clock: Clock = systemClock): Promise<DatasetTrigger> {
  const t = new DatasetTrigger(
    { functionName: 'fn', invoker: fns, state: new TriggerState(join(dir, 'state', 'dataset-clicks.json')), clock, log: silentLogger(), store },
    { dataset: 'clicks', batchSize },
  );
  triggers.push(t);
  await t.start();
  return t;
}

const events = (ds: readonly Delivery[], partition: number): DatasetEvent[] =>
  ds.map((d) => d.event as DatasetEvent).filter((e) => e.partition === partition);

describe('the dataset trigger', () => {
  it('starts at the log end and delivers what is appended after, per partition in offset order, in batches of at most batchSize, one in flight per partition', async () => {
    const { store, dir } = await setup();
    await append(store, 0, [{ old: 0 }, { old: 1 }, { old: 2 }, { old: 3 }, { old: 4 }]);
    const fns = new FakeFunctions();
    fns.deploy('fn', [{ kind: 'dataset', dataset: 'clicks', batchSize: 3 }]);
    const inFlight = [0, 0];
    let maxInFlight = 0;
    fns.settle = async (d) => {
      const p = (d.event as DatasetEvent).partition;
      maxInFlight = Math.max(maxInFlight, ++inFlight[p]!);
      await new Promise((r) => setImmediate(r));
      inFlight[p]!--;
      return { status: 'succeeded', attempts: 1 };
    };
    await startTrigger(store, dir, fns, 3);
    const expected: unknown[][] = [[], []];
    for (let i = 0; i < 7; i++) {
      const p = i % 2;
      const batch = [{ p, i, a: 0 }, { p, i, a: 1 }];
      expected[p]!.push(...batch);
      await append(store, p, batch);
    }
    await fns.waitForDeliveries(1);
    // Every record appended after the start, and none before: 8 on p0, 6 on p1.
    const total = (): number => fns.deliveries.reduce((n, d) => n + (d.event as DatasetEvent).records.length, 0);
    while (total() < 14) await fns.waitForDeliveries(fns.deliveries.length + 1);
    expect(total()).toBe(14);
    for (const p of [0, 1]) {
      const es = events(fns.deliveries, p);
      expect(es.flatMap((e) => e.records)).toEqual(expected[p]);
      let offset = p === 0 ? 5 : 0;
      for (const e of es) {
        expect(e.firstOffset).toBe(offset);
        expect(e.records.length).toBeGreaterThan(0);
        expect(e.records.length).toBeLessThanOrEqual(3);
        expect(e.dataset).toBe('clicks');
        offset += e.records.length;
      }
    }
    expect(fns.deliveries.every((d) => d.source === 'dataset' && d.eventId === `fn:dataset:clicks:${(d.event as DatasetEvent).partition}:${(d.event as DatasetEvent).firstOffset}`)).toBe(true);
    expect(maxInFlight).toBe(1);
  });

  it('moves the checkpoint only once a batch settles: after a restart the unsettled batch comes again, the same records with the same event id', async () => {
    const { store, dir } = await setup(1);
    const fns = new FakeFunctions();
    fns.deploy('fn', [{ kind: 'dataset', dataset: 'clicks', batchSize: 10 }]);
    const held = deferred<never>();
    fns.settle = () => held.promise;
    const first = await startTrigger(store, dir, fns, 10);
    await append(store, 0, [{ n: 0 }, { n: 1 }]);
    const [d1] = await fns.waitForDeliveries(1);
    // More records while the short batch is in flight: they must not join it, then or after a restart.
    await append(store, 0, [{ n: 2 }, { n: 3 }, { n: 4 }]);
    await first.stop(); // as a crash would: the delivery never settled
    fns.settle = () => ({ status: 'succeeded', attempts: 1 });
    await startTrigger(store, dir, fns, 10);
    const [, d2, d3] = await fns.waitForDeliveries(3);
    expect(d2!.eventId).toBe(d1!.eventId);
    expect(d2!.event).toEqual({ dataset: 'clicks', partition: 0, firstOffset: 0, records: [{ n: 0 }, { n: 1 }] });
    expect(d3!.event).toEqual({ dataset: 'clicks', partition: 0, firstOffset: 2, records: [{ n: 2 }, { n: 3 }, { n: 4 }] });
    expect(d3!.eventId).toBe('fn:dataset:clicks:0:2');
  });

  it('resumes from the saved checkpoint after a restart, delivering nothing twice that had settled', async () => {
    const { store, dir } = await setup(1);
    const fns = new FakeFunctions();
    fns.deploy('fn', [{ kind: 'dataset', dataset: 'clicks', batchSize: 2 }]);
    const t = await startTrigger(store, dir, fns, 2);
    await append(store, 0, [{ n: 0 }, { n: 1 }]);
    await fns.waitForDeliveries(1);
    // The next batch's arrival shows the first one's checkpoint is saved (saved before the next read).
    await append(store, 0, [{ n: 2 }]);
    await fns.waitForDeliveries(2);
    await t.stop();
    await append(store, 0, [{ n: 3 }, { n: 4 }]);
    await startTrigger(store, dir, fns, 2);
    while (!fns.deliveries.some((d) => (d.event as DatasetEvent).firstOffset === 3)) await fns.waitForDeliveries(fns.deliveries.length + 1);
    const all = fns.deliveries;
    // The second batch ({n:2}) may come again (its save raced the stop), but never the first.
    const offsets = all.map((d) => (d.event as DatasetEvent).firstOffset);
    expect(offsets.slice(0, 2)).toEqual([0, 2]);
    expect(offsets.filter((o) => o === 0)).toHaveLength(1);
    const seen = new Map(all.map((d) => [(d.event as DatasetEvent).firstOffset, (d.event as DatasetEvent).records]));
    expect([...seen.keys()].sort()).toEqual([0, 2, 3]);
    expect(seen.get(3)).toEqual([{ n: 3 }, { n: 4 }]);
  });

  it('moves a partition on past a dead-lettered batch', async () => {
    const { store, dir } = await setup(1);
    const fns = new FakeFunctions();
    fns.deploy('fn', [{ kind: 'dataset', dataset: 'clicks', batchSize: 2 }]);
    fns.settle = (d) => (d.event as DatasetEvent).firstOffset === 0
      ? { status: 'dead-lettered', attempts: 3, errors: [{ code: 'HANDLER_ERROR', message: 'boom' }] }
      : { status: 'succeeded', attempts: 1 };
    await startTrigger(store, dir, fns, 2);
    await append(store, 0, [{ n: 0 }, { n: 1 }, { n: 2 }]);
    const [a, b] = await fns.waitForDeliveries(2);
    expect((a!.event as DatasetEvent).firstOffset).toBe(0);
    expect(b!.event).toEqual({ dataset: 'clicks', partition: 0, firstOffset: 2, records: [{ n: 2 }] });
  });

  it('after a refused delivery starts again from the refused batch: nothing skipped, nothing out of order', async () => {
    const { store, dir } = await setup(1);
    const fns = new FakeFunctions();
    fns.deploy('fn', [{ kind: 'dataset', dataset: 'clicks', batchSize: 3 }]);
    let refused = 0;
    fns.settle = (d) => {
      // The second batch is refused once.
      if ((d.event as DatasetEvent).firstOffset === 3 && refused++ === 0) throw new Error('refused once');
      return { status: 'succeeded', attempts: 1 };
    };
    await startTrigger(store, dir, fns, 3);
    const records = Array.from({ length: 10 }, (_, n) => ({ n }));
    await append(store, 0, records);
    const all = await fns.waitForDeliveries(5);
    expect(all.map((d) => (d.event as DatasetEvent).firstOffset)).toEqual([0, 3, 3, 6, 9]);
    // The deliveries that settled (all but the refused one) carry every record once, in order.
    const settled = all.filter((_, i) => i !== 1);
    expect(settled.flatMap((d) => (d.event as DatasetEvent).records)).toEqual(records);
  });

  it('says how far behind the log end each partition is', async () => {
    const { store, dir } = await setup();
    const clock = new ManualClock(1_000);
    const fns = new FakeFunctions();
    fns.deploy('fn', [{ kind: 'dataset', dataset: 'clicks', batchSize: 1 }]);
    const releases: (() => void)[] = [];
    fns.settle = () => new Promise((resolve) => releases.push(() => resolve({ status: 'succeeded', attempts: 1 })));
    const t = await startTrigger(store, dir, fns, 1, clock);
    expect(t.iteratorAges()).toEqual([{ partition: 0, ageMs: 0 }, { partition: 1, ageMs: 0 }]);
    await append(store, 0, [{ n: 0 }, { n: 1 }, { n: 2 }]);
    await fns.waitForDeliveries(1);
    clock.set(1_600);
    expect(t.iteratorAges()).toEqual([{ partition: 0, ageMs: 600 }, { partition: 1, ageMs: 0 }]);
    releases[0]!();
    await fns.waitForDeliveries(2);
    clock.set(1_900);
    // Records 1 and 2 were first seen at 1000 too.
    expect(t.iteratorAges()[0]).toEqual({ partition: 0, ageMs: 900 });
  });
});
