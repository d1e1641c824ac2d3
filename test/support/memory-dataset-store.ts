/**
 * A DatasetStore in memory, for unit tests of what sits above the store (the
 * Dataset service, the producer): the contract of src/dataset/types.ts with
 * none of its files. Idempotence as the contract says: a batch repeating one
 * of a producer's last five on a partition is answered with its first
 * offsets; any other sequence but the next (0 for a producer it does not know) is
 * OUT_OF_ORDER_SEQUENCE.
 */
import { LaminateError } from '../../src/common/errors.js';
import { recordSpans } from '../../src/storage/record-body.js';
import type {
  AppendBatch, AppendResult, CreateDatasetOptions, Cut, DatasetDescription, DatasetStore, ReadChunk, ReadOptions,
} from '../../src/dataset/types.js';

interface StoredBatch { readonly sequence: number; readonly count: number; readonly firstOffset: number }

interface Partition {
  /** Each record's bytes with its length prefix. */
  readonly records: Buffer[];
  readonly producers: Map<string, StoredBatch[]>;
  readonly waiters: Set<() => void>;
}

interface Dataset { readonly name: string; readonly createdAt: number; readonly partitions: Partition[] }

export class MemoryDatasetStore implements DatasetStore {
  private readonly datasets = new Map<string, Dataset>();
  private closed = false;
  /** Every batch given to append, stored or not, for tests that count retries. */
  readonly appended: AppendBatch[] = [];

  createDataset(name: string, options: CreateDatasetOptions = {}): Promise<DatasetDescription> {
    if (!/^[a-z0-9][a-z0-9._-]{0,127}$/i.test(name)) return Promise.reject(new LaminateError('INVALID_ARGUMENT', `Expected a dataset name of letters, digits, '.', '_' and '-', got '${name}'`));
    const partitions = options.partitions ?? 4;
    const existing = this.datasets.get(name);
    if (existing) {
      if (existing.partitions.length !== partitions) return Promise.reject(new LaminateError('ALREADY_EXISTS', `Dataset '${name}' exists with ${existing.partitions.length} partitions, not ${partitions}`));
    } else {
      this.datasets.set(name, {
        name, createdAt: Date.now(),
        partitions: Array.from({ length: partitions }, () => ({ records: [], producers: new Map(), waiters: new Set() })),
      });
    }
    return Promise.resolve(this.describeDataset(name));
  }

  private dataset(name: string): Dataset {
    const d = this.datasets.get(name);
    if (!d) throw new LaminateError('NOT_FOUND', `No dataset '${name}'`);
    return d;
  }

  private partition(name: string, p: number): Partition {
    const d = this.dataset(name);
    const part = d.partitions[p];
    if (!part) throw new LaminateError('NOT_FOUND', `Dataset '${name}' has no partition ${p}`);
    return part;
  }

  describeDataset(name: string): DatasetDescription {
    const d = this.dataset(name);
    return {
      name, createdAt: d.createdAt,
      partitions: d.partitions.map((p, i) => ({
        partition: i, endOffset: p.records.length, segments: 1, records: p.records.length, bytes: p.records.reduce((n, r) => n + r.length, 0),
      })),
    };
  }

  listDatasets(): DatasetDescription[] {
    return [...this.datasets.keys()].sort().map((n) => this.describeDataset(n));
  }

  append(batches: readonly AppendBatch[]): Promise<AppendResult[]> {
    try {
      if (this.closed) throw new LaminateError('UNAVAILABLE', 'The store is closed');
      return Promise.resolve(batches.map((b) => this.appendOne(b)));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private appendOne(b: AppendBatch): AppendResult {
    this.appended.push(b);
    const part = this.partition(b.dataset, b.partition);
    const body = Buffer.from(b.body);
    let spans = recordSpans(body);
    let skipped = 0;
    if (spans.length !== b.count) throw new LaminateError('INVALID_ARGUMENT', `Expected ${b.count} records in the body, got ${spans.length}`);
    if (b.producerId !== undefined) {
      const seq = b.sequence!;
      const last = part.producers.get(b.producerId) ?? [];
      const dup = last.find((x) => x.sequence === seq && x.count === b.count);
      if (dup) return { partition: b.partition, firstOffset: dup.firstOffset, count: dup.count, duplicate: true, skipped: 0 };
      // A replayed batch ending where a remembered one ends: that one is its tail, the rest was stored before.
      const tail = b.replay === true ? last.find((x) => x.sequence > seq && x.sequence + x.count === seq + b.count) : undefined;
      if (tail) return { partition: b.partition, firstOffset: tail.firstOffset, count: tail.count, duplicate: true, skipped: b.count - tail.count };
      // A producer the store does not know starts at 0.
      const next = last.length === 0 ? 0 : last[last.length - 1]!.sequence + last[last.length - 1]!.count;
      // A replay: records numbered below next are stored already.
      if (b.replay === true && seq < next) {
        skipped = Math.min(next - seq, b.count);
        if (skipped === b.count) return { partition: b.partition, firstOffset: -1, count: 0, duplicate: true, skipped };
        spans = spans.slice(skipped);
      }
      if (seq + skipped !== next) throw new LaminateError('OUT_OF_ORDER_SEQUENCE', `Expected sequence ${next} from producer ${b.producerId}, got ${seq}`);
      last.push({ sequence: seq + skipped, count: b.count - skipped, firstOffset: part.records.length });
      if (last.length > 5) last.shift();
      part.producers.set(b.producerId, last);
    }
    const firstOffset = part.records.length;
    for (const s of spans) part.records.push(body.subarray(s.start - 4, s.end));
    for (const w of [...part.waiters]) w();
    return { partition: b.partition, firstOffset, count: b.count - skipped, duplicate: false, skipped };
  }

  read(dataset: string, partition: number, from: number, options: ReadOptions = {}): Promise<ReadChunk> {
    try {
      const part = this.partition(dataset, partition);
      const end = part.records.length;
      if (from > end) throw new LaminateError('OUT_OF_RANGE', `Offset ${from} is beyond the end ${end}`);
      const stop = Math.min(options.endOffset ?? end, end);
      const maxBytes = options.maxBytes ?? 256 * 1024;
      const out: Buffer[] = [];
      let bytes = 0;
      let o = from;
      while (o < stop && (out.length === 0 || bytes + part.records[o]!.length <= maxBytes)) {
        out.push(part.records[o]!);
        bytes += part.records[o]!.length;
        o++;
      }
      return Promise.resolve({ partition, firstOffset: from, count: out.length, body: Buffer.concat(out), nextOffset: o, endOffset: end });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  waitForRecords(dataset: string, partition: number, offset: number, signal?: AbortSignal): Promise<void> {
    const part = this.partition(dataset, partition);
    if (part.records.length > offset) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(new LaminateError('CANCELLED', 'wait cancelled'));
    return new Promise((resolve, reject) => {
      const done = (): void => {
        if (part.records.length <= offset) return;
        part.waiters.delete(done);
        resolve();
      };
      part.waiters.add(done);
      signal?.addEventListener('abort', () => {
        part.waiters.delete(done);
        reject(new LaminateError('CANCELLED', 'wait cancelled'));
      }, { once: true });
    });
  }

  nextSequence(dataset: string, partition: number, producerId: string): number {
    const last = this.partition(dataset, partition).producers.get(producerId)?.at(-1);
    return last ? last.sequence + last.count : 0;
  }

  currentCut(dataset: string): Cut {
    return this.dataset(dataset).partitions.map((p) => p.records.length);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
