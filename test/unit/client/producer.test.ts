import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import { silentLogger } from '../../../src/common/logger.js';
import type { AppendBatch, AppendResult } from '../../../src/dataset/types.js';
import { Producer, type ProducerTransport, type RecordAck } from '../../../src/client/producer.js';
import { resolveProducerOptions, type ProducerOptions } from '../../../src/client/producer-options.js';
import { validateAppendBatch } from '../../../src/dataset/append-validation.js';
import { resolveDatasetStoreOptions } from '../../../src/dataset/store-options.js';
import { decodeBody, encodeBody, encodeRecord } from '../../../src/storage/record-body.js';
import { MemoryDatasetStore } from '../../support/memory-dataset-store.js';
import { seededRandom } from '../../support/seeded-random.js';
import { fnv1a } from '../../support/fnv1a.js';

function nextSequences(store: MemoryDatasetStore, dataset: string, producerId: string): Array<{ partition: number; nextSequence: number }> {
  return store.currentCut(dataset).map((_, partition) => ({ partition, nextSequence: store.nextSequence(dataset, partition, producerId) }));
}

const unavailable = (): LaminateError => new LaminateError('UNAVAILABLE', 'injected: master unreachable');

/**
 * The store behind a transport that fails as a network does: some calls are
 * lost before the store sees them, some answers are lost after it stored the
 * batch, and calls may overtake one another.
 */
class FaultyTransport implements ProducerTransport {
  calls = 0;
  inFlight = new Map<number, number>();
  maxInFlight = 0;
  constructor(readonly store: MemoryDatasetStore, private readonly faults: { random: () => number; lostCall: number; lostAnswer: number; jitter: boolean }) {}

  describeDataset(name: string): Promise<{ partitions: readonly unknown[] }> {
    return Promise.resolve(this.store.describeDataset(name));
  }
  initProducer(dataset: string, producerId: string): Promise<Array<{ partition: number; nextSequence: number }>> {
    return Promise.resolve(nextSequences(this.store, dataset, producerId));
  }
  async append(batches: readonly AppendBatch[]): Promise<AppendResult[]> {
    this.calls++;
    const p = batches[0]!.partition;
    this.inFlight.set(p, (this.inFlight.get(p) ?? 0) + 1);
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight.get(p)!);
    try {
      // Overtaking: a call may wait a few turns of the event loop before it reaches the store.
      if (this.faults.jitter) for (let i = Math.floor(this.faults.random() * 3); i > 0; i--) await new Promise((r) => setImmediate(r));
      if (this.faults.random() < this.faults.lostCall) throw unavailable();
      const res = await this.store.append(batches);
      if (this.faults.random() < this.faults.lostAnswer) throw unavailable();
      return res;
    } finally {
      this.inFlight.set(p, this.inFlight.get(p)! - 1);
    }
  }
}

/** A fault-free transport to `store` that shows each batch to `seen` before sending it. */
function recordingTransport(store: MemoryDatasetStore, seen: (b: AppendBatch) => void): ProducerTransport {
  const transport = new FaultyTransport(store, { random: seededRandom(5), lostCall: 0, lostAnswer: 0, jitter: false });
  return {
    describeDataset: (n) => transport.describeDataset(n),
    initProducer: (d, id) => transport.initProducer(d, id),
    append: (batches) => { for (const b of batches) seen(b); return transport.append(batches); },
  };
}

async function partitionRecords(store: MemoryDatasetStore, dataset: string, p: number): Promise<unknown[]> {
  const chunk = await store.read(dataset, p, 0, { maxBytes: 1 << 30 });
  return decodeBody(chunk.body);
}

const FAST: ProducerOptions = { lingerMs: 1, retryBackoffMs: 1, retryBackoffMaxMs: 5 };

describe('the idempotent producer', () => {
  it('stores every record exactly once, in send order per partition, through lost calls, lost answers and overtaking', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('clicks', { partitions: 3 });
    const transport = new FaultyTransport(store, { random: seededRandom(7), lostCall: 0.2, lostAnswer: 0.2, jitter: true });
    const producer = new Producer(transport, 'clicks', { ...FAST, maxBatchBytes: 300 }, silentLogger());
    const records = Array.from({ length: 2000 }, (_, i) => ({ i, user: `u${i % 13}`, pad: 'x'.repeat(i % 17) }));
    const acks: Array<Promise<RecordAck>> = [];
    for (const r of records) {
      await producer.ready();
      acks.push(producer.send(r));
    }
    await producer.close();
    const got = await Promise.all(acks);

    // The model: each partition holds, at each acknowledged offset, the record acknowledged there.
    const model = new Map<number, unknown[]>();
    got.forEach((a, i) => {
      const list = model.get(a.partition) ?? [];
      model.set(a.partition, list);
      list[a.offset] = records[i];
    });
    for (let p = 0; p < 3; p++) {
      const stored = await partitionRecords(store, 'clicks', p);
      expect(stored).toEqual(model.get(p) ?? []);
      // Send order within the partition is offset order.
      const sentOrder = got.map((a, i) => ({ a, i })).filter((x) => x.a.partition === p).map((x) => x.i);
      expect(sentOrder).toEqual([...sentOrder].sort((x, y) => x - y));
      expect(got.filter((a) => a.partition === p).map((a) => a.offset)).toEqual(sentOrder.map((_, k) => k));
    }
    // The faults happened: calls lost before the store, and batches that reached it twice (their answers lost).
    expect(transport.calls).toBeGreaterThan(store.appended.length);
    expect(store.appended.length).toBeGreaterThan(new Set(store.appended.map((b) => `${b.partition}:${b.sequence}`)).size);
    expect(transport.maxInFlight).toBeLessThanOrEqual(5);
  });

  it('stores records given to write() exactly once through faults, and gives the send()s among them their own offsets', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('clicks', { partitions: 2 });
    const transport = new FaultyTransport(store, { random: seededRandom(11), lostCall: 0.2, lostAnswer: 0.2, jitter: true });
    const producer = new Producer(transport, 'clicks', { ...FAST, maxBatchBytes: 500, key: 'user' }, silentLogger());
    const records = Array.from({ length: 1500 }, (_, i) => ({ i, user: `u${i % 7}`, pad: 'w'.repeat(i % 23) }));
    // Every fifth record goes through send(), the rest through write().
    const acks = new Map<number, Promise<RecordAck>>();
    for (const r of records) {
      await producer.ready();
      if (r.i % 5 === 0) acks.set(r.i, producer.send(r));
      else producer.write(r);
    }
    await producer.flush();
    expect(transport.calls).toBeGreaterThan(store.appended.length);
    // The model: per partition, the records of its keys in send order.
    const partitionOf = (user: string): number => fnv1a(user) % 2;
    for (let p = 0; p < 2; p++) {
      const expected = records.filter((r) => partitionOf(r.user) === p);
      expect(await partitionRecords(store, 'clicks', p)).toEqual(expected);
      for (const [i, ack] of acks) {
        if (partitionOf(records[i]!.user) !== p) continue;
        expect(await ack).toEqual({ partition: p, offset: expected.findIndex((r) => r.i === i) });
      }
    }
    // Refusals are thrown at once, and do not fail the producer.
    expect(() => producer.write(undefined)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
    producer.write({ i: -1, user: 'u0' });
    await producer.close();
    expect((await partitionRecords(store, 'clicks', partitionOf('u0'))).at(-1)).toEqual({ i: -1, user: 'u0' });
    expect(() => producer.write({ late: true })).toThrow(expect.objectContaining({ code: 'FAILED_PRECONDITION' }) as Error);
  });

  it('rejects flush() with the failure when records given to write() cannot be stored', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('d', { partitions: 1 });
    const transport: ProducerTransport = {
      describeDataset: (n) => Promise.resolve(store.describeDataset(n)),
      initProducer: (d, id) => Promise.resolve(nextSequences(store, d, id)),
      append: () => Promise.reject(new LaminateError('DATA_LOSS', 'injected: refused for good')),
    };
    const producer = new Producer(transport, 'd', FAST, silentLogger());
    producer.write({ a: 1 });
    producer.write({ a: 2 });
    await expect(producer.flush()).rejects.toMatchObject({ code: 'DATA_LOSS' });
    expect(() => producer.write({ a: 3 })).toThrow(/injected: refused for good/);
  });

  it('resolves whenDurable() once every record written before it is acknowledged, sending nothing before its linger time', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('d', { partitions: 1 });
    // Append calls wait until the test releases them; a waiter hears of each call.
    const held: Array<() => void> = [];
    let onCall: (() => void) | undefined;
    const transport: ProducerTransport = {
      describeDataset: (n) => Promise.resolve(store.describeDataset(n)),
      initProducer: (d, id) => Promise.resolve(nextSequences(store, d, id)),
      append: (batches) => new Promise<AppendResult[]>((resolve, reject) => {
        held.push(() => { store.append(batches).then(resolve, reject); });
        onCall?.();
      }),
    };
    const nextCall = (): Promise<void> => new Promise((r) => { onCall = r; });
    // A linger time no test run reaches: only a full batch, or flush(), sends.
    const producer = new Producer(transport, 'd', { lingerMs: 600_000, maxBatchBytes: 1000 }, silentLogger());
    const records = Array.from({ length: 14 }, (_, i) => ({ i, pad: 'q'.repeat(80) }));
    const firstCall = nextCall();
    for (const r of records.slice(0, 12)) producer.write(r);
    await firstCall;
    // The first batch is full and in flight; the rest of the 12 wait in the open batch.
    const events: string[] = [];
    const durable = producer.whenDurable().then(() => events.push('durable'));
    expect(held).toHaveLength(1);
    for (const r of records.slice(12)) producer.write(r);
    events.push('release 1');
    held.shift()!();
    const secondCall = nextCall();
    // Only flush() sends the open batch (the marker did not): release it once it is in flight.
    const flushed = producer.flush();
    await secondCall;
    expect(held).toHaveLength(1);
    events.push('release 2');
    held.shift()!();
    await Promise.all([durable, flushed]);
    expect(events).toEqual(['release 1', 'release 2', 'durable']);
    expect(await partitionRecords(store, 'd', 0)).toEqual(records);
    await producer.close();
  });

  it('resolves whenDurable() and flush() only once the earliest batch is acknowledged, whatever order the answers come in', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('d', { partitions: 1 });
    // The store takes each batch at once; its answers wait until the test releases them.
    const answers: Array<() => void> = [];
    let onCall: (() => void) | undefined;
    const transport: ProducerTransport = {
      describeDataset: (n) => Promise.resolve(store.describeDataset(n)),
      initProducer: (d, id) => Promise.resolve(nextSequences(store, d, id)),
      append: async (batches) => {
        const res = await store.append(batches);
        await new Promise<void>((r) => { answers.push(r); onCall?.(); });
        return res;
      },
    };
    const producer = new Producer(transport, 'd', { lingerMs: 600_000, maxBatchBytes: 1000 }, silentLogger());
    const records = Array.from({ length: 25 }, (_, i) => ({ i, pad: 'r'.repeat(80) }));
    const allHeld = new Promise<void>((r) => { onCall = () => { if (answers.length === 3) r(); }; });
    for (const r of records) producer.write(r);
    const events: string[] = [];
    const durable = producer.whenDurable().then(() => events.push('durable'));
    const flushed = producer.flush().then(() => events.push('flushed'));
    await allHeld;
    // Newest first: neither may resolve before the first batch's answer.
    for (const k of [2, 1]) {
      events.push(`answer ${k + 1}`);
      answers[k]!();
      await new Promise((r) => setImmediate(r));
    }
    events.push('answer 1');
    answers[0]!();
    await Promise.all([durable, flushed]);
    expect(events.slice(0, 3)).toEqual(['answer 3', 'answer 2', 'answer 1']);
    expect(events.slice(3).sort()).toEqual(['durable', 'flushed']);
    expect(await partitionRecords(store, 'd', 0)).toEqual(records);
    await producer.close();
  });

  it('rejects whenDurable() with the failure when records written before it cannot be stored', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('d', { partitions: 1 });
    const transport: ProducerTransport = {
      describeDataset: (n) => Promise.resolve(store.describeDataset(n)),
      initProducer: (d, id) => Promise.resolve(nextSequences(store, d, id)),
      append: () => Promise.reject(new LaminateError('DATA_LOSS', 'injected: refused for good')),
    };
    const producer = new Producer(transport, 'd', FAST, silentLogger());
    await expect(producer.whenDurable()).resolves.toBeUndefined();
    producer.write({ a: 1 });
    await expect(producer.whenDurable()).rejects.toMatchObject({ code: 'DATA_LOSS' });
  });

  it('partitions keyed records by FNV-1a of the key, keeping each key in send order', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('orders', { partitions: 5 });
    const producer = new Producer(new FaultyTransport(store, { random: seededRandom(1), lostCall: 0, lostAnswer: 0, jitter: false }), 'orders', { ...FAST, key: 'user' }, silentLogger());
    const records = Array.from({ length: 500 }, (_, i) => ({ user: i % 3 === 0 ? 42 : `user-${i % 11}`, n: i }));
    const acks = await Promise.all(records.map((r) => producer.send(r)));
    await producer.close();
    acks.forEach((a, i) => expect(a.partition).toBe(fnv1a(typeof records[i]!.user === 'string' ? records[i]!.user as string : JSON.stringify(records[i]!.user)) % 5));
    for (let p = 0; p < 5; p++) {
      expect(await partitionRecords(store, 'orders', p)).toEqual(records.filter((_, i) => acks[i]!.partition === p));
    }
  });

  it('stores each record intact when the key function itself packs with msgpackr (the producer packs in place of the last record)', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('orders', { partitions: 3 });
    // A key function that packs values of its own between the producer's packs.
    const key = (r: unknown): string => pack({ noise: 'z'.repeat(50), r }).toString('hex').slice(-8);
    const producer = new Producer(new FaultyTransport(store, { random: seededRandom(3), lostCall: 0, lostAnswer: 0, jitter: false }), 'orders', { ...FAST, key }, silentLogger());
    const records = Array.from({ length: 300 }, (_, i) => ({ n: i, s: 's'.repeat(i % 40) }));
    const acks = await Promise.all(records.map((r) => producer.send(r)));
    await producer.close();
    for (let p = 0; p < 3; p++) {
      expect(await partitionRecords(store, 'orders', p)).toEqual(records.filter((_, i) => acks[i]!.partition === p));
    }
  });

  it('stores the bytes msgpackr gives each record, whether written in place or packed by msgpackr (Dates, undefined fields, records that do not fit), in one stream', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('mixed', { partitions: 2 });
    const producer = new Producer(new FaultyTransport(store, { random: seededRandom(5), lostCall: 0.1, lostAnswer: 0.1, jitter: true }), 'mixed', { ...FAST, maxBatchBytes: 700, maxRecordBytes: 400 }, silentLogger());
    // Most records take the in-place writer; every seventh has something it leaves to msgpackr; sizes vary so that records meet the end of a batch's room.
    const records = Array.from({ length: 1500 }, (_, i) => (i % 7 === 3
      ? { i, at: new Date(i * 1000), gone: undefined, s: 'é'.repeat(i % 50) }
      : { i, s: 'q'.repeat(i % 120), f: i / 3, neg: -i, list: [i % 2 === 0, null, 'é😀'] }));
    const acks = await Promise.all(records.map((r) => producer.send(r)));
    await producer.close();
    for (let p = 0; p < 2; p++) {
      const chunk = await store.read('mixed', p, 0, { maxBytes: 1 << 30 });
      const expected = Buffer.concat(records.filter((_, i) => acks[i]!.partition === p).map((r) => encodeRecord(r)));
      expect(Buffer.from(chunk.body).equals(expected)).toBe(true);
    }
    // A record too large for maxRecordBytes is refused by the usual path, with a batch open.
    await expect(producer.send({ big: 'x'.repeat(500) })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    const open = new Producer(new FaultyTransport(store, { random: seededRandom(6), lostCall: 0, lostAnswer: 0, jitter: false }), 'mixed', { ...FAST, maxRecordBytes: 400 }, silentLogger());
    await open.send({ n: 1 });
    const pending = open.send({ n: 2 });
    await expect(open.send({ big: 'x'.repeat(500) })).rejects.toThrow(/at most 400 bytes encoded/);
    const after = open.send({ n: 3 });
    const [two, three] = await Promise.all([pending, after]);
    await open.close();
    // Both records around the refused one are stored, next to each other in their batch.
    expect(three).toEqual({ partition: two.partition, offset: two.offset + 1 });
    expect(decodeBody((await store.read('mixed', two.partition, two.offset, { maxBytes: 1 << 30 })).body).slice(0, 2)).toEqual([{ n: 2 }, { n: 3 }]);
  });

  it('reuses batch buffers once acknowledged without changing what was stored, through lost answers and retries', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('logs', { partitions: 2 });
    // Small batches, many of them: full ones keep their buffer until acknowledged, linger-sealed ones are copied out.
    const transport = new FaultyTransport(store, { random: seededRandom(11), lostCall: 0.1, lostAnswer: 0.1, jitter: true });
    const producer = new Producer(transport, 'logs', { ...FAST, maxBatchBytes: 600 }, silentLogger());
    const records = Array.from({ length: 3000 }, (_, i) => ({ i, pad: 'p'.repeat(i % 90) }));
    const acks: Array<Promise<RecordAck>> = [];
    for (let i = 0; i < records.length; i++) {
      acks.push(producer.send(records[i]));
      // Pauses now and then, so that some batches go by linger time half full.
      if (i % 97 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    const got = await Promise.all(acks);
    await producer.close();
    expect(transport.calls).toBeGreaterThan(100);
    for (let p = 0; p < 2; p++) {
      expect(await partitionRecords(store, 'logs', p)).toEqual(records.filter((_, i) => got[i]!.partition === p));
    }
  });

  it('grows a batch from its first small buffer up to maxBatchBytes instead of sending it early, keeping every record intact across each growth', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('logs', { partitions: 1 });
    const bodies: number[] = [];
    const recording = recordingTransport(store, (b) => bodies.push(b.body.byteLength));
    // Linger far off: batches go by size alone. The default maxBatchBytes (1 MiB); records of 200 B to 3 KB, some
    // written in place, some packed by msgpackr (a Date), some through send(): each growth lands between kinds.
    const producer = new Producer(recording, 'logs', { lingerMs: 60_000 }, silentLogger());
    expect(producer.options.maxBatchBytes).toBe(1024 * 1024);
    const random = seededRandom(9);
    const records = Array.from({ length: 2500 }, (_, i) => (i % 7 === 3 ? { i, at: new Date(1_700_000_000_000 + i) } : { i, pad: 'q'.repeat(200 + Math.floor(random() * 2800)) }));
    const acks: Array<Promise<RecordAck>> = [];
    for (let i = 0; i < records.length; i++) {
      if (i % 5 === 0) acks.push(producer.send(records[i]));
      else producer.write(records[i]);
    }
    await producer.flush();
    await Promise.all(acks);
    await producer.close();
    const stored = await partitionRecords(store, 'logs', 0);
    expect(stored).toEqual(records.map((r) => ('at' in r ? { ...r, at: r.at } : r)));
    // About 4.3 MB of records in batches of up to 1 MiB: every batch but the last was filled near 1 MiB (a record
    // at most 3 KB short), none was sent at its first buffer's 64 KiB.
    expect(bodies.length).toBeGreaterThanOrEqual(4);
    for (const size of bodies.slice(0, -1)) {
      expect(size).toBeGreaterThan(1024 * 1024 - 4096);
      expect(size).toBeLessThanOrEqual(1024 * 1024 + 4096);
    }
  });

  it('reuses the buffers of batches sealed by linger time below maxBatchBytes, whatever their size class', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('logs', { partitions: 1 });
    const buffers: ArrayBufferLike[] = [];
    const recording = recordingTransport(store, (b) => buffers.push(b.body.buffer));
    // A steady rate below the batch size, as the ingest bench's 50,000 records/s: each batch of ~80 KB outgrows
    // its first 64 KiB buffer and goes by linger time, acknowledged before the next opens. Only buffers of the
    // 1 MiB maxBatchBytes were kept before: every batch then took a 64 and a 128 KiB buffer afresh.
    const producer = new Producer(recording, 'logs', { lingerMs: 2 }, silentLogger());
    const records: unknown[] = [];
    for (let round = 0; round < 30; round++) {
      const acks: Array<Promise<RecordAck>> = [];
      for (let i = 0; i < 80; i++) {
        const r = { round, i, pad: String.fromCharCode(97 + ((round + i) % 26)).repeat(1000) };
        records.push(r);
        acks.push(producer.send(r));
      }
      await Promise.all(acks);
    }
    await producer.close();
    expect(buffers.length).toBe(30);
    // The first batch outgrows its 64 KiB buffer into a 128 KiB one; every later batch starts at that class and
    // takes the same buffer back from the pool.
    expect(new Set(buffers).size).toBe(1);
    expect(await partitionRecords(store, 'logs', 0)).toEqual(records);
  });

  it('moves a small batch out of the large buffer its partition\'s last batch left it, once sealed', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('logs', { partitions: 1 });
    const sent: Array<{ bytes: number; held: number }> = [];
    const producer = new Producer(recordingTransport(store, (b) => sent.push({ bytes: b.body.byteLength, held: b.body.buffer.byteLength })), 'logs', { lingerMs: 60_000 }, silentLogger());
    const big = { pad: 'b'.repeat(600 * 1024) };
    const small = { i: 1 };
    await Promise.all([producer.send(big), producer.flush()]);
    // This batch opens in a 1 MiB buffer (the class of the 600 KB one before it) and holds a few bytes.
    await Promise.all([producer.send(small), producer.flush()]);
    await producer.close();
    expect(sent).toHaveLength(2);
    expect(sent[0]!.held).toBeGreaterThanOrEqual(1024 * 1024);
    // Sealed, it went out in a buffer of its own size (headroom for the request's header aside), not the 1 MiB one.
    expect(sent[1]!.bytes).toBeLessThan(64);
    expect(sent[1]!.held).toBeLessThanOrEqual(sent[1]!.bytes + 512);
    expect(await partitionRecords(store, 'logs', 0)).toEqual([big, small]);
  });

  it('fills one partition before moving to the next when records have no key', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('logs', { partitions: 4 });
    const producer = new Producer(new FaultyTransport(store, { random: seededRandom(1), lostCall: 0, lostAnswer: 0, jitter: false }), 'logs', { lingerMs: 1, maxBatchBytes: 1000 }, silentLogger());
    const acks = await Promise.all(Array.from({ length: 400 }, (_, i) => producer.send({ i, pad: 'y'.repeat(40) })));
    await producer.close();
    // Runs of one partition, each a full batch, visiting every partition in turn.
    const runs: number[] = [];
    for (const a of acks) if (runs.at(-1) !== a.partition) runs.push(a.partition);
    expect(new Set(runs).size).toBe(4);
    for (let k = 1; k < runs.length; k++) expect(runs[k]).toBe((runs[k - 1]! + 1) % 4);
    expect(acks.length / runs.length).toBeGreaterThan(10);
  });

  it('continues the sequences of a producer id after a restart, so a repeat of its last batch is still caught', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('d', { partitions: 2 });
    const transport = new FaultyTransport(store, { random: seededRandom(3), lostCall: 0, lostAnswer: 0, jitter: false });
    const first = new Producer(transport, 'd', { ...FAST, producerId: 'ingest-1', key: (r) => (r as { p: number }).p }, silentLogger());
    await Promise.all([0, 1, 0, 1, 0].map((p, i) => first.send({ p, i })));
    await first.close();
    const lastBatch = store.appended.at(-1)!;

    const again = new Producer(transport, 'd', { ...FAST, producerId: 'ingest-1', key: (r) => (r as { p: number }).p }, silentLogger());
    const acks = await Promise.all([1, 0].map((p, i) => again.send({ p, i: 10 + i })));
    await again.close();
    // Keys 0 and 1 hash to different partitions; key 0 had 3 records there before, key 1 had 2.
    const of = (key: number): number => fnv1a(String(key)) % 2;
    expect(of(0)).not.toBe(of(1));
    expect(acks).toEqual([{ partition: of(1), offset: 2 }, { partition: of(0), offset: 3 }]);
    expect(store.nextSequence('d', of(0), 'ingest-1')).toBe(4);
    expect(store.nextSequence('d', of(1), 'ingest-1')).toBe(3);
    // The first producer's last batch, sent again (a late retry), is still known as a duplicate.
    const [repeat] = await store.append([lastBatch]);
    expect(repeat!.duplicate).toBe(true);
  });

  it('replays a stream after a run that died half way, storing each record once whatever the batching', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('d', { partitions: 3 });
    const records = Array.from({ length: 5000 }, (_, i) => ({ i, pad: 'z'.repeat(i % 11) }));
    // The first run's master goes away for good after 12 calls: the run fails part way through.
    const dying = new FaultyTransport(store, { random: seededRandom(11), lostCall: 0, lostAnswer: 0.2, jitter: true });
    const append = dying.append.bind(dying);
    dying.append = (batches) => (dying.calls >= 12 ? Promise.reject(unavailable()) : append(batches));
    const first = new Producer(dying, 'd', { ...FAST, producerId: 'import', replay: true, maxBatchBytes: 700, deliveryTimeoutMs: 200 }, silentLogger());
    for (const r of records) first.write(r);
    await expect(first.flush()).rejects.toThrow(/not acknowledged within 200 ms/);
    const storedBefore = store.currentCut('d').reduce((a, b) => a + b, 0);
    expect(storedBefore).toBeGreaterThan(0);
    expect(storedBefore).toBeLessThan(records.length);

    // The second run batches differently and loses answers too.
    const transport = new FaultyTransport(store, { random: seededRandom(12), lostCall: 0.1, lostAnswer: 0.2, jitter: true });
    const again = new Producer(transport, 'd', { ...FAST, producerId: 'import', replay: true, maxBatchBytes: 1100 }, silentLogger());
    const acks = await Promise.all(records.map((r) => again.send(r)));
    await again.close();
    // Unkeyed records of a replay go in runs of 1024 per partition, from partition 0.
    const expected: unknown[][] = [[], [], []];
    records.forEach((r, i) => expected[Math.floor(i / 1024) % 3]!.push(r));
    for (let p = 0; p < 3; p++) expect(await partitionRecords(store, 'd', p)).toEqual(expected[p]);
    expect(again.alreadyStored).toBe(storedBefore);
    expect(acks.filter((a) => a.alreadyStored).length).toBe(storedBefore);
    // Records stored by this run are acknowledged with their own offsets; those stored before, where still known.
    for (const [i, a] of acks.entries()) {
      expect(a.partition).toBe(Math.floor(i / 1024) % 3);
      if (!a.alreadyStored || a.offset !== -1) expect(a.offset).toBe(expected[a.partition]!.indexOf(records[i]));
    }
  });

  it('refuses replay without a producer id', () => {
    expect(() => resolveProducerOptions({ replay: true })).toThrow(/Expected a producerId with replay/);
  });

  it('bounds the bytes buffered: ready() waits while they pass bufferBytes, and in-flight batches per partition stay within maxInFlight', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('d', { partitions: 1 });
    const held: Array<() => void> = [];
    let heldBytes = 0;
    let maxHeld = 0;
    const transport: ProducerTransport = {
      describeDataset: (n) => Promise.resolve(store.describeDataset(n)),
      initProducer: (d, id) => Promise.resolve(nextSequences(store, d, id)),
      append: (batches) => new Promise<AppendResult[]>((resolve, reject) => {
        heldBytes += batches[0]!.body.byteLength;
        maxHeld = Math.max(maxHeld, held.length + 1);
        held.push(() => {
          heldBytes -= batches[0]!.body.byteLength;
          store.append(batches).then(resolve, reject);
        });
      }),
    };
    const producer = new Producer(transport, 'd', { lingerMs: 0, maxBatchBytes: 1000, bufferBytes: 4000, maxInFlight: 2 }, silentLogger());
    const acks: Array<Promise<RecordAck>> = [];
    let readyWaited = 0;
    for (let i = 0; i < 200; i++) {
      const r = producer.ready();
      let resolved = false;
      void r.then(() => { resolved = true; });
      await Promise.resolve();
      if (!resolved) {
        readyWaited++;
        // While the caller waits, nothing is acknowledged: release the oldest held batch.
        while (!resolved) {
          expect(heldBytes).toBeLessThanOrEqual(4000);
          held.shift()?.();
          await new Promise((res) => setImmediate(res));
        }
      }
      acks.push(producer.send({ i, pad: 'z'.repeat(80) }));
    }
    const closing = producer.close();
    while (held.length > 0 || (await Promise.race([closing.then(() => true), new Promise<boolean>((res) => setImmediate(() => res(false)))])) === false) {
      held.shift()?.();
      await new Promise((res) => setImmediate(res));
    }
    await closing;
    expect(readyWaited).toBeGreaterThan(0);
    expect(maxHeld).toBeLessThanOrEqual(2);
    expect((await Promise.all(acks)).map((a) => a.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('fails every unacknowledged record with TIMEOUT once the delivery deadline passes, and refuses later sends', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('d', { partitions: 1 });
    const transport: ProducerTransport = {
      describeDataset: (n) => Promise.resolve(store.describeDataset(n)),
      initProducer: (d, id) => Promise.resolve(nextSequences(store, d, id)),
      append: () => Promise.reject(unavailable()),
    };
    const producer = new Producer(transport, 'd', { ...FAST, deliveryTimeoutMs: 50 }, silentLogger());
    const results = await Promise.allSettled([producer.send({ a: 1 }), producer.send({ a: 2 })]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'TIMEOUT' });
      expect(((r as PromiseRejectedResult).reason as Error).message).toMatch(/not acknowledged within 50 ms; last error: injected/);
    }
    await expect(producer.send({ a: 3 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    await expect(producer.flush()).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('fails at once on an unknown dataset, and refuses a record that is not JSON or too large without failing', async () => {
    const store = new MemoryDatasetStore();
    const transport = new FaultyTransport(store, { random: seededRandom(1), lostCall: 0, lostAnswer: 0, jitter: false });
    const missing = new Producer(transport, 'nope', FAST, silentLogger());
    await expect(missing.send({ a: 1 })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    await store.createDataset('d', { partitions: 1 });
    const producer = new Producer(transport, 'd', { ...FAST, maxRecordBytes: 100 }, silentLogger());
    await expect(producer.send(undefined)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(producer.send({ big: 'x'.repeat(200) })).rejects.toThrow(/at most 100 bytes encoded, got \d+ bytes/);
    await expect(producer.send({ ok: true })).resolves.toEqual({ partition: 0, offset: 0 });
    const keyed = new Producer(transport, 'd', { ...FAST, key: 'user' }, silentLogger());
    await expect(keyed.send({ user: { id: 1 } })).rejects.toThrow(/field 'user' of a record to be a string, number or boolean/);
    const thrower = new Producer(transport, 'd', { ...FAST, key: () => { throw new Error('boom'); } }, silentLogger());
    await expect(thrower.send({ a: 1 })).rejects.toThrow(/The key function threw on a record: Error: boom/);
    await expect(keyed.send({ user: 'u1' })).resolves.toEqual({ partition: 0, offset: 1 });
    await keyed.close();
    await producer.close();
    await expect(producer.send({ late: true })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
  });
  it('takes producer ids up to the store\'s limit of 255 UTF-8 bytes, counting bytes rather than characters', () => {
    const storeOptions = resolveDatasetStoreOptions({ dir: '/unused', logger: silentLogger() });
    const batch = (producerId: string): AppendBatch => ({ dataset: 'd', partition: 0, body: encodeBody([1]), count: 1, producerId, sequence: 0 });
    // 'é' is 2 bytes: 127 of them and one 'x' make 255 bytes (128 characters), 128 of them 256 bytes.
    for (const id of ['x'.repeat(255), 'é'.repeat(127) + 'x']) {
      expect(resolveProducerOptions({ producerId: id }).producerId).toBe(id);
      expect(() => validateAppendBatch(batch(id), storeOptions)).not.toThrow();
    }
    for (const [id, bytes] of [['x'.repeat(256), 256], ['é'.repeat(128), 256]] as const) {
      expect(() => resolveProducerOptions({ producerId: id })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: `Expected producerId to be a string of 1 to 255 UTF-8 bytes, got one of ${bytes} bytes` }) as Error,
      );
      expect(() => validateAppendBatch(batch(id), storeOptions)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
    }
    expect(() => resolveProducerOptions({ producerId: '' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
  });
});
