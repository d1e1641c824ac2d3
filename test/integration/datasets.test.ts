import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LaminateClient, type ReadRecord } from '../../src/client/index.js';
import type { RecordAck } from '../../src/client/producer.js';
import { seededRandom } from '../support/seeded-random.js';
import { removeDir, startMasterProc, tempDir, type MasterProc } from './harness.js';
import { fnv1a } from '../support/fnv1a.js';

async function readAll(client: LaminateClient, name: string, partition: number, from = 0, endOffset?: number): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  for await (const r of client.read(name, { partition, from, ...(endOffset === undefined ? {} : { endOffset }) })) out.push(r);
  return out;
}

describe('datasets on a master process', () => {
  let dir: string;
  let master: MasterProc;
  let client: LaminateClient;

  beforeAll(async () => {
    dir = await tempDir();
    master = await startMasterProc(dir);
    client = new LaminateClient(master.address);
  });
  afterAll(async () => {
    await client.close();
    await master.kill();
    await removeDir(dir);
  });

  it('creates, describes and lists datasets; creating one again with the same settings changes nothing', async () => {
    const created = await client.createDataset('clicks', { partitions: 3 });
    expect(created.name).toBe('clicks');
    expect(created.partitions.map((p) => [p.partition, p.endOffset, p.records])).toEqual([[0, 0, 0], [1, 0, 0], [2, 0, 0]]);
    expect(created.createdAt).toBeGreaterThan(0);
    const defaulted = await client.createDataset('views');
    expect(defaulted.partitions).toHaveLength(4);

    await client.append('clicks', [{ a: 1 }], { key: 'a' });
    const again = await client.createDataset('clicks', { partitions: 3 });
    expect(again.createdAt).toBe(created.createdAt);
    expect(again.partitions.reduce((n, p) => n + p.records, 0)).toBe(1);
    const described = await client.describeDataset('clicks');
    expect(described).toEqual(again);
    expect(described.partitions.reduce((n, p) => n + p.bytes, 0)).toBeGreaterThan(0);
    const names = (await client.listDatasets()).map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining(['clicks', 'views']));
  });

  it('appends keyed records and reads back exactly what a sequential model predicts, whole and in ranges', async () => {
    await client.createDataset('orders', { partitions: 4 });
    const random = seededRandom(42);
    const records = Array.from({ length: 5000 }, (_, i) => ({
      id: i, user: `user-${Math.floor(random() * 50)}`, amount: Math.round(random() * 1e4) / 100, tags: random() < 0.1 ? ['gift'] : [],
    }));
    // The model: each record goes to FNV-1a(user) mod 4, in input order.
    const model: Array<typeof records> = [[], [], [], []];
    for (const r of records) model[fnv1a(r.user) % 4]!.push(r);

    const ranges = await client.append('orders', records, { key: 'user' });
    expect(ranges).toEqual(model.flatMap((m, p) => (m.length > 0 ? [{ partition: p, firstOffset: 0, count: m.length }] : [])));
    for (let p = 0; p < 4; p++) {
      const got = await readAll(client, 'orders', p);
      expect(got.map((r) => r.offset)).toEqual(model[p]!.map((_, i) => i));
      expect(got.map((r) => r.record)).toEqual(model[p]);
      expect(got.every((r) => r.partition === p)).toBe(true);
    }
    const d = await client.describeDataset('orders');
    expect(d.partitions.map((p) => p.endOffset)).toEqual(model.map((m) => m.length));
    // A range: exactly the records between the two offsets.
    const p0 = model[0]!;
    const from = Math.floor(p0.length / 3);
    const end = Math.floor((2 * p0.length) / 3);
    expect((await readAll(client, 'orders', 0, from, end)).map((r) => r.record)).toEqual(p0.slice(from, end));
    expect(await readAll(client, 'orders', 0, p0.length)).toEqual([]);
  });

  it('keeps what four concurrent producers were acknowledged: every partition reads back in acknowledgement order', async () => {
    await client.createDataset('shared', { partitions: 3 });
    const clients = Array.from({ length: 4 }, () => new LaminateClient(master.address));
    try {
      const acks = await Promise.all(clients.map(async (c, w) => {
        const producer = c.producer('shared', { lingerMs: 1, maxBatchBytes: 4096, key: 'k' });
        const mine: Array<{ record: { w: number; i: number; k: string }; ack: Promise<RecordAck> }> = [];
        for (let i = 0; i < 3000; i++) {
          const record = { w, i, k: `k${(i * 7 + w) % 11}` };
          await producer.ready();
          mine.push({ record, ack: producer.send(record) });
        }
        await producer.close();
        return Promise.all(mine.map(async (m) => ({ record: m.record, ack: await m.ack })));
      }));
      const all = acks.flat();
      for (let p = 0; p < 3; p++) {
        const stored = await readAll(client, 'shared', p);
        const acked = all.filter((a) => a.ack.partition === p).sort((a, b) => a.ack.offset - b.ack.offset);
        // Dense offsets, each acknowledged exactly once, holding what was acknowledged there.
        expect(acked.map((a) => a.ack.offset)).toEqual(stored.map((_, i) => i));
        expect(stored.map((r) => r.record)).toEqual(acked.map((a) => a.record));
        // Each producer's records in a partition keep its send order.
        for (let w = 0; w < 4; w++) {
          const order = stored.map((r) => r.record as { w: number; i: number }).filter((r) => r.w === w).map((r) => r.i);
          expect(order).toEqual([...order].sort((a, b) => a - b));
        }
      }
      expect(all).toHaveLength(12_000);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('streams each new record to a follower once acknowledged, and ends the follow when its signal aborts', async () => {
    await client.createDataset('live', { partitions: 2 });
    const ac = new AbortController();
    const seen: ReadRecord[] = [];
    let onSeen = (): void => {};
    const follower = (async () => {
      for await (const r of client.read('live', { partition: 1, from: 0, follow: true, signal: ac.signal })) {
        seen.push(r);
        onSeen();
      }
    })();
    const producer = client.producer('live', { key: () => 'same', lingerMs: 0 });
    const target = fnv1a('same') % 2;
    expect(target).toBe(1);
    for (let k = 0; k < 20; k++) {
      const ack = await producer.send({ k });
      expect(ack).toEqual({ partition: 1, offset: k });
      // Wait for the follower to hand over this very record: no polling, no sleep.
      await new Promise<void>((resolve) => {
        onSeen = () => { if (seen.some((r) => r.offset === ack.offset)) resolve(); };
        onSeen();
      });
    }
    expect(seen.map((r) => [r.offset, r.record])).toEqual(Array.from({ length: 20 }, (_, k) => [k, { k }]));
    ac.abort();
    await follower;
    await producer.close();
  });

  it('lets a producer restarted with the same id continue its sequences, so its new records are not taken for repeats', async () => {
    await client.createDataset('resumed', { partitions: 2 });
    const first = new LaminateClient(master.address);
    const p1 = first.producer('resumed', { producerId: 'ingest-7', key: 'i' });
    await Promise.all([0, 1, 2, 3, 4].map((i) => p1.send({ i })));
    await first.close();
    const before = await client.describeDataset('resumed');
    // The restarted producer's first batches carry sequences that follow the
    // first one's; started at 0 again, they would be answered as repeats.
    const second = new LaminateClient(master.address);
    try {
      const p2 = second.producer('resumed', { producerId: 'ingest-7', key: 'i' });
      const acks = await Promise.all([10, 11, 12].map((i) => p2.send({ i })));
      await p2.close();
      for (const a of acks) expect(a.offset).toBeGreaterThanOrEqual(before.partitions[a.partition]!.endOffset);
      const stored = [...await readAll(client, 'resumed', 0), ...await readAll(client, 'resumed', 1)].map((r) => (r.record as { i: number }).i);
      expect(stored.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 10, 11, 12]);
    } finally {
      await second.close();
    }
  });
});
