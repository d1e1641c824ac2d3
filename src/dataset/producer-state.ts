/**
 * Idempotent producers, per partition, by Kafka's rules (ProducerStateManager,
 * ProducerAppendInfo.checkSequence): for each producer id the table keeps its
 * last BATCHES_PER_PRODUCER batches (first sequence, count, first offset).
 *
 * - A batch equal (sequence and count) to one of them is a duplicate: it is
 *   answered with the offsets it got the first time and not stored again.
 * - Otherwise its sequence must be the producer's next (last sequence +
 *   count), else OUT_OF_ORDER_SEQUENCE naming the expected and the given one.
 * - A producer the partition does not know must start at sequence 0 (Kafka's
 *   rule for a producer without state): a later batch arriving first (its
 *   predecessor lost, then retried) is refused rather than leaving a gap.
 *   A producer is unknown when new, or when idle (no append) longer than
 *   `expirationMs` (default 7 days, Kafka's transactional.id.expiration.ms),
 *   or evicted as the least recently appending once the partition tracks
 *   `maxProducers`. Such a producer asks the store for nextSequence (0 then)
 *   and numbers its batches from there: a retry older than the expiry is
 *   then no longer recognised, which is the price of bounded memory.
 *
 * - A replayed batch (AppendBatch.replay: a restarted producer sending its
 *   stream again from sequence 0) may begin with records the producer had
 *   stored: every sequence below the producer's next one was stored, since
 *   sequences are dense and accepted only in order. Those records are
 *   skipped and the rest stored (`skip`), however differently the replay
 *   batches them; a replayed batch wholly below is answered as a duplicate
 *   (with its offsets if it is one of the remembered batches, else -1). This
 *   is how a re-run import with the same producer id stores each record
 *   once, which Kafka reaches only with transactions.
 *
 * The table is rebuilt at open from a snapshot (written when a segment rolls,
 * like Kafka's .snapshot files) plus the batch headers after it, which carry
 * producer id, sequence, count, offset and append time. Pure, in memory.
 */
import { pack, unpack } from 'msgpackr';
import { crc32 } from 'node:zlib';
import { describe, LaminateError } from '../common/errors.js';

/** Batches remembered per producer and partition (Kafka's NUM_BATCHES_TO_RETAIN). */
export const BATCHES_PER_PRODUCER = 5;

interface BatchMetadata {
  readonly sequence: number;
  readonly count: number;
  readonly firstOffset: number;
}

interface ProducerEntry {
  /** Oldest first; at most BATCHES_PER_PRODUCER. */
  readonly batches: BatchMetadata[];
  lastAppendTime: number;
}

export interface ProducerLimits {
  readonly expirationMs: number;
  readonly maxProducers: number;
}

/**
 * What to do with a batch: store it, its first `skip` records excepted (a
 * replay's, stored before; 0 otherwise); or answer it as a duplicate whose
 * first `skip` records were stored by an earlier run at offsets no longer
 * known and the rest from firstOffset (-1 when skip is the whole batch).
 */
export type SequenceCheck =
  | { readonly kind: 'new'; readonly skip: number }
  | { readonly kind: 'duplicate'; readonly firstOffset: number; readonly skip: number };

const NEW: SequenceCheck = { kind: 'new', skip: 0 };

/** What an error names: the partition whose producers these are. */
export interface PartitionRef {
  readonly dataset: string;
  readonly partition: number;
}

export class ProducerStateTable {
  /** In order of last append, least recent first (re-inserted on each append). */
  private readonly producers = new Map<string, ProducerEntry>();

  constructor(private readonly limits: ProducerLimits, private readonly ref: PartitionRef) {}

  get size(): number {
    return this.producers.size;
  }

  /**
   * Judges a batch of `count` records from `producerId` starting at
   * `sequence`, against the batches recorded so far (stored or on their way
   * to the disk). Throws OUT_OF_ORDER_SEQUENCE. Changes nothing but expiry.
   */
  check(producerId: string, sequence: number, count: number, now: number, replay = false): SequenceCheck {
    const entry = this.live(producerId, now);
    const where = `${describe(this.ref.dataset)} partition ${this.ref.partition}`;
    const ids = { dataset: this.ref.dataset, partition: this.ref.partition };
    if (entry === undefined) {
      if (sequence === 0) return NEW;
      const days = this.limits.expirationMs / 86_400_000;
      throw new LaminateError(
        'OUT_OF_ORDER_SEQUENCE',
        `Expected sequence 0 from producer ${describe(producerId)}, which ${where} does not know (new, or idle longer than ${Number.isInteger(days) ? `${days} days` : `${this.limits.expirationMs} ms`}), got ${sequence}`,
        { ids },
      );
    }
    for (const b of entry.batches) {
      if (b.sequence === sequence && b.count === count) return { kind: 'duplicate', firstOffset: b.firstOffset, skip: 0 };
      // The retry of a replayed batch whose head had been skipped: its tail is this remembered batch.
      if (replay && b.sequence > sequence && b.sequence + b.count === sequence + count) {
        return { kind: 'duplicate', firstOffset: b.firstOffset, skip: b.sequence - sequence };
      }
    }
    const last = entry.batches[entry.batches.length - 1]!;
    const expected = last.sequence + last.count;
    if (sequence === expected) return NEW;
    if (replay && sequence < expected) {
      return sequence + count <= expected ? { kind: 'duplicate', firstOffset: -1, skip: count } : { kind: 'new', skip: expected - sequence };
    }
    const hint = sequence < expected
      ? ` (sequences below ${expected} are stored, and this batch is not one of the last ${BATCHES_PER_PRODUCER} remembered for retries)`
      : ' (a batch before it is missing)';
    throw new LaminateError(
      'OUT_OF_ORDER_SEQUENCE',
      `Expected sequence ${expected} from producer ${describe(producerId)} on ${where}, got ${sequence} for ${count} records${hint}`,
      { ids },
    );
  }

  /** Records a batch given offsets (after check said 'new', or while rebuilding from the log). */
  record(producerId: string, sequence: number, count: number, firstOffset: number, appendTime: number): void {
    let entry = this.producers.get(producerId);
    if (entry === undefined) {
      while (this.producers.size >= this.limits.maxProducers) {
        const oldest = this.producers.keys().next().value as string;
        this.producers.delete(oldest);
      }
      entry = { batches: [], lastAppendTime: appendTime };
    } else {
      this.producers.delete(producerId);
    }
    entry.batches.push({ sequence, count, firstOffset });
    if (entry.batches.length > BATCHES_PER_PRODUCER) entry.batches.shift();
    entry.lastAppendTime = Math.max(entry.lastAppendTime, appendTime);
    this.producers.set(producerId, entry);
  }

  /** The sequence `producerId`'s next batch must start at: 0 for a producer not known. */
  nextSequence(producerId: string, now: number): number {
    const entry = this.live(producerId, now);
    if (entry === undefined) return 0;
    const last = entry.batches[entry.batches.length - 1]!;
    return last.sequence + last.count;
  }

  /** Drops every producer idle past the expiry; returns how many. Called when a segment rolls and at open. */
  expire(now: number): number {
    let dropped = 0;
    for (const [id, entry] of this.producers) {
      if (now - entry.lastAppendTime > this.limits.expirationMs) {
        this.producers.delete(id);
        dropped++;
      }
    }
    return dropped;
  }

  private live(producerId: string, now: number): ProducerEntry | undefined {
    const entry = this.producers.get(producerId);
    if (entry !== undefined && now - entry.lastAppendTime > this.limits.expirationMs) {
      this.producers.delete(producerId);
      return undefined;
    }
    return entry;
  }

  /**
   * The table as a snapshot file's bytes: u32 LE CRC-32 of the rest, then
   * msgpack of { offset, producers: [id, lastAppendTime, [sequence, count,
   * firstOffset]...][] }, `offset` being the log offset it is the state before.
   */
  encodeSnapshot(offset: number): Buffer {
    const producers = [...this.producers].map(([id, e]) => [id, e.lastAppendTime, e.batches.map((b) => [b.sequence, b.count, b.firstOffset])]);
    const payload = pack({ version: 1, offset, producers });
    const out = Buffer.allocUnsafe(4 + payload.length);
    out.writeUInt32LE(crc32(payload), 0);
    out.set(payload, 4);
    return out;
  }

  /**
   * Replaces this table's state with a snapshot's, when `bytes` are a whole
   * snapshot of the state before `offset`; returns false (changing nothing)
   * when they are damaged or of another offset, and the caller falls back to
   * an older snapshot or the whole log.
   */
  loadSnapshot(bytes: Buffer, offset: number): boolean {
    if (bytes.length < 4 || crc32(bytes.subarray(4)) !== bytes.readUInt32LE(0)) return false;
    let decoded: unknown;
    try {
      decoded = unpack(bytes.subarray(4));
    } catch {
      return false;
    }
    const snap = decoded as { version?: unknown; offset?: unknown; producers?: unknown };
    if (snap.version !== 1 || snap.offset !== offset || !Array.isArray(snap.producers)) return false;
    this.producers.clear();
    for (const p of snap.producers as [string, number, [number, number, number][]][]) {
      const [id, lastAppendTime, batches] = p;
      this.producers.set(id, { lastAppendTime, batches: batches.map(([sequence, count, firstOffset]) => ({ sequence, count, firstOffset })) });
    }
    return true;
  }
}
