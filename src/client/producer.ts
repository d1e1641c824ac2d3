/**
 * The idempotent producer: records in, durable offsets out. Records are
 * batched per partition (by size and linger time), each batch carries the
 * producer id and the sequence of its first record (Kafka's rule), and a
 * batch that fails for a reason that may pass (the master restarting, a lost
 * answer, a deadline) is sent again by itself with the same id and sequence,
 * so the store keeps it once, until it is acknowledged or its delivery
 * deadline passes.
 *
 * Ordering: at most maxInFlight batches per partition are in flight; after a
 * failure, a partition sends only its oldest unacknowledged batch until that
 * one is acknowledged, then pipelines again, so records are stored in the
 * order they were sent. A batch refused for good (or past its deadline)
 * fails the producer: every record not yet acknowledged is rejected with
 * that error, as Kafka's idempotent producer does, since later batches would
 * otherwise leave a gap in the sequence.
 *
 * Memory: records move from the send queue into batches only while the
 * batched, unacknowledged bytes stay within bufferBytes; `ready()` tells a
 * caller when there is room, so a loop that awaits it is bounded.
 */
import { LaminateError, type ErrorCode } from '../common/errors.js';
import { Fifo } from '../common/fifo.js';
import type { Logger } from '../common/logger.js';
import { KeyPartitioner } from '../common/key-partitioner.js';
import { encodeRecord, packRecordInPlace, RECORD_HEADER_BYTES, requireJsonValue, type DatasetRecord } from '../storage/record-body.js';
import { writeJsonMsgpack } from '../storage/json-msgpack-writer.js';
import { allocateAppendBuffer } from '../protocol/append-encoding.js';
import { BatchBuffers } from './batch-buffers.js';
import type { AppendBatch, AppendResult, ProducerSequence } from '../protocol/dataset-rpc.js';
import { recordKey, REPLAY_RUN_RECORDS, resolveProducerOptions, type ProducerOptions, type ResolvedProducerOptions } from './producer-options.js';

/** Where one record was stored. */
export interface RecordAck {
  readonly partition: number;
  /** Its offset; -1 when alreadyStored and the store no longer knows where. */
  readonly offset: number;
  /** Replay only: an earlier run of this producer had stored the record, so it was not stored again. */
  readonly alreadyStored?: true;
}

/** A record encoded and keyed (Producer.prepare). */
export interface PreparedRecord {
  readonly bytes: Buffer;
  /** The hashed key, or undefined for the sticky partition. */
  readonly key: string | undefined;
}

/** What a producer needs of the Dataset service; DatasetClient is one. */
export interface ProducerTransport {
  describeDataset(name: string, timeoutMs?: number): Promise<{ readonly partitions: readonly unknown[] }>;
  initProducer(dataset: string, producerId: string, timeoutMs?: number): Promise<ProducerSequence[]>;
  append(batches: readonly AppendBatch[], timeoutMs?: number): Promise<AppendResult[]>;
}

/** Codes after which the same call may succeed: the batch is sent again. */
const RETRIABLE: ReadonlySet<ErrorCode> = new Set(['UNAVAILABLE', 'TIMEOUT', 'CANCELLED', 'RESOURCE_EXHAUSTED']);

export function isRetriable(err: unknown): boolean {
  return err instanceof LaminateError && RETRIABLE.has(err.code);
}

interface Settler<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

interface QueuedRecord {
  readonly kind: 'record';
  /** Framed (length prefix, then payload), in a buffer of its own. */
  readonly bytes: Buffer;
  /** The hashed key, or undefined for the sticky partition. */
  readonly key: string | undefined;
  /** Absent for a record given to write(): the next flush() acknowledges it. */
  readonly waiter: Settler<RecordAck> | undefined;
}

interface FlushMarker extends Settler<void> {
  readonly kind: 'flush';
  /** flush(): the open batches go without waiting for linger time; whenDurable(): they wait as usual. */
  readonly hurry: boolean;
}

interface Batch {
  readonly partition: number;
  /**
   * The body under construction: records are framed straight into it, so
   * a record costs one copy from msgpackr's buffer (none when written in
   * place). It starts at the size class of the partition's last batch
   * (batch-buffers.ts) and doubles up to maxBatchBytes as records come (or
   * holds one record larger than that); the body is its first `bytes`.
   */
  buf: Buffer;
  bytes: number;
  count: number;
  /** The settlers of the records sent with send(), and their positions in the batch. */
  readonly waiters: Array<Settler<RecordAck>>;
  readonly waiterAt: number[];
  readonly deadline: number;
  /** Linger time is over, or a flush asked: send as soon as the partition may. */
  ready: boolean;
  /** Set when sealed: the sequence of its first record, and its number among the partition's batches. */
  sequence: number;
  index: number;
  body?: Buffer;
  inFlight: boolean;
  /**
   * Resolves once this batch and every earlier one of its partition are
   * settled (acknowledged, or failed with the producer), so that a flush or
   * whenDurable() waits on one promise per partition, not one per batch: a
   * producer behind the load holds hundreds of batches, and a marker per
   * millisecond over all of them stalled the client's event loop.
   */
  readonly settled: Promise<void>;
  settle(): void;
}

interface PartitionState {
  nextSequence: number;
  /**
   * Replay: the producer id's next sequence when this producer started:
   * records numbered below it were stored by an earlier run (0 otherwise).
   */
  readonly storedBefore: number;
  nextIndex: number;
  /** The bytes of the partition's last sealed batch: the size a new batch's buffer starts at. */
  lastBatchBytes: number;
  /** The batch taking records (unsealed). */
  open?: Batch;
  lingerTimer?: NodeJS.Timeout;
  /** Sealed batches not yet acknowledged, in sequence order. */
  readonly sealed: Batch[];
  /** The `settled` of the partition's newest batch (open, sealed or done). */
  lastSettled?: Promise<void>;
  inFlight: number;
  /** After a failure: only the oldest batch goes, alone, until it is acknowledged. */
  retrying: boolean;
  backoffMs: number;
  retryTimer?: NodeJS.Timeout;
}

const EMPTY = Buffer.alloc(0);

/** A record framed (length prefix, then src[start, end)) in a buffer of its own: for the send queue. */
function framedCopy(src: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + end - start);
  out.writeUInt32LE(end - start, 0);
  src.copy(out, RECORD_HEADER_BYTES, start, end);
  return out;
}

/*
 * Batch buffers are kept for the next batches once theirs are acknowledged
 * (or outgrown, or copied out when sealed small): a fresh buffer per batch is
 * memory outside the JS heap that V8 answers with collections, and its pages
 * fault in on first write (batch-buffers.ts). As in Kafka's BufferPool, free
 * buffers are kept as long as they and the bytes buffered fit in
 * bufferBytes: a producer that fills its buffer before acknowledgements come
 * back (a bulk load) then reuses every buffer, where a fixed handful of
 * spares (8, before) left it allocating ~60% of its batches afresh. Dropped
 * at close().
 */

export class Producer {
  readonly options: ResolvedProducerOptions;
  /** Records (and flush markers) not yet in a batch: a Fifo, as a caller far ahead of the master queues many (see fifo.ts). */
  private readonly queue = new Fifo<QueuedRecord | FlushMarker>();
  /** Records in `queue` (it also holds flush markers). */
  private queuedRecords = 0;
  /** Filled once the dataset's partitions and this producer's sequences are known. */
  private partitions: PartitionState[] | undefined;
  private initializing: Promise<void> | undefined;
  /** Set with `partitions`. */
  private partitioner: KeyPartitioner | undefined;
  private buffered = 0;
  /** Records acknowledged as stored by an earlier run (replay). */
  private skipped = 0;
  private failure: LaminateError | undefined;
  private closing: Promise<void> | undefined;
  private readonly roomWaiters: Array<Settler<void>> = [];
  /** Free batch buffers (see release()). */
  private readonly buffers: BatchBuffers;
  /** Bytes of the open batches' buffers (see batchBuffer). */
  private openBufferBytes = 0;
  private readonly log: Logger;

  /** Use LaminateClient.producer(). Nothing is sent before the first record. */
  constructor(
    private readonly transport: ProducerTransport,
    readonly dataset: string,
    options: ProducerOptions,
    logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.options = resolveProducerOptions(options);
    this.buffers = new BatchBuffers(this.options.maxBatchBytes);
    this.log = logger.child({ component: 'producer', dataset, producerId: this.options.producerId });
  }

  get producerId(): string {
    return this.options.producerId;
  }

  /** Replay: records acknowledged so far that an earlier run had stored (not stored again). */
  get alreadyStored(): number {
    return this.skipped;
  }

  /**
   * Sends one record; resolves with where it was stored once it is durable.
   * Rejects at once a record that is not a JSON value or is too large, and
   * every record after the producer has failed or been closed. Does not wait
   * for room: await `ready()` between sends to bound memory.
   */
  send(record: DatasetRecord): Promise<RecordAck> {
    return new Promise<RecordAck>((resolve, reject) => {
      this.add(record, undefined, { resolve, reject });
    });
  }

  /**
   * Sends one record without an acknowledgement of its own: the next flush()
   * (or close()) resolves once it is durable, or rejects with the error that
   * failed the producer. For a caller that needs no offsets: it spares a
   * promise per record. Throws INVALID_ARGUMENT at once for a record that is
   * not a JSON value or too large, and FAILED_PRECONDITION (or the failure)
   * once the producer is closed (or failed). Like send(), does not wait for
   * room: await `ready()` between writes.
   */
  write(record: DatasetRecord): void {
    this.add(record, undefined, undefined);
  }

  /**
   * Encodes a record and computes its key as send() does, throwing
   * INVALID_ARGUMENT at once: for a caller that must check a whole input
   * before sending any of it (LaminateClient.append).
   */
  prepare(record: DatasetRecord): PreparedRecord {
    const bytes = encodeRecord(record, this.options.maxRecordBytes);
    return { bytes, key: this.keyOf(record) };
  }

  /** send() of a prepared record. */
  sendPrepared(prepared: PreparedRecord): Promise<RecordAck> {
    return new Promise<RecordAck>((resolve, reject) => {
      this.add(undefined, prepared, { resolve, reject });
    });
  }

  /** Resolves when records may be sent without passing bufferBytes; rejects once the producer has failed. */
  ready(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.hasRoom()) return Promise.resolve();
    return new Promise((resolve, reject) => this.roomWaiters.push({ resolve, reject }));
  }

  /**
   * Sends every record given so far without waiting for linger time, and
   * resolves once all of them are acknowledged; rejects with the producer's
   * failure if it has failed. Safe to call at any time, and repeatedly.
   */
  flush(): Promise<void> {
    return this.mark(true);
  }

  /**
   * Resolves once every record given so far is acknowledged (rejects with the
   * producer's failure), without hurrying them as flush() does: batches go
   * by size and linger time as usual. For a caller of write() that wants to
   * know when a group of records is durable without a promise per record
   * (the ingest benchmark's open loop calls it once per millisecond's
   * records). Safe to call at any time, and repeatedly.
   */
  whenDurable(): Promise<void> {
    return this.mark(false);
  }

  /** A marker behind every record given so far (see FlushMarker.hurry). */
  private mark(hurry: boolean): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    // Nothing was ever sent: no need to ask the master anything.
    if (!this.initializing && this.queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'flush', hurry, resolve, reject });
      this.startInit();
      this.drain();
    });
  }

  /** Flushes, then refuses further records. Safe to call twice; rejects as flush does. */
  close(): Promise<void> {
    this.closing ??= this.flush().finally(() => {
      this.clearTimers();
      this.buffers.clear();
    });
    return this.closing;
  }

  // ---- queue → batches ---------------------------------------------------------

  /**
   * Takes one record (to encode, or `prepared`): straight into its batch when
   * the producer is started and has room (the usual case), else into the
   * queue, framed in a buffer of its own. Throws what send() rejects with.
   */
  private add(record: DatasetRecord, prepared: PreparedRecord | undefined, waiter: Settler<RecordAck> | undefined): void {
    if (this.closing) throw new LaminateError('FAILED_PRECONDITION', `The producer ${this.producerId} of '${this.dataset}' is closed`);
    if (this.failure) throw this.failure;
    if (prepared) {
      this.place(prepared.bytes, RECORD_HEADER_BYTES, prepared.bytes.length, prepared.key, waiter, prepared.bytes);
      return;
    }
    // A key function is user code, which may pack with msgpackr and so
    // reuse the bytes of a record packed before it: it runs first.
    if (typeof this.options.key === 'function') requireJsonValue(record);
    const key = this.keyOf(record);
    if (this.writeInPlace(record, key, waiter)) return;
    // Valid until the next pack: copied by place() before any other record is packed.
    const packed = packRecordInPlace(record, this.options.maxRecordBytes);
    this.place(packed, packed.start, packed.end, key, waiter, undefined);
  }

  /**
   * The usual case, with no copy: the record written as msgpack straight
   * into its partition's open batch (json-msgpack-writer.ts, the same bytes
   * msgpackr writes). False, with nothing changed, when it does not apply:
   * before the producer is started, with records queued, replaying (whose
   * placement counts records), with no open batch for the partition (the
   * record opens one the usual way, so that a record refused then leaves no
   * empty batch behind), or for a value the writer leaves to msgpackr or
   * that does not fit in the batch's room (the usual path seals the batch,
   * or refuses the record as too large).
   */
  private writeInPlace(record: DatasetRecord, key: string | undefined, waiter: Settler<RecordAck> | undefined): boolean {
    if (!this.partitions || this.queue.length > 0 || this.options.replay) return false;
    const p = this.partitioner!.place(key);
    const b = this.partitions[p]!.open;
    if (!b) return false;
    const start = b.bytes + RECORD_HEADER_BYTES;
    const end = writeJsonMsgpack(record, b.buf, start, Math.min(b.buf.length, start + this.options.maxRecordBytes));
    if (end < 0) return false;
    const size = end - b.bytes;
    if (this.buffered > 0 && this.buffered + size > this.options.bufferBytes) {
      // No room: the record waits in the queue, copied out of the batch's free space (which the next record reuses).
      this.enqueue(framedCopy(b.buf, start, end), key, waiter);
      return true;
    }
    this.commit(p, b, end - start, waiter);
    return true;
  }

  /**
   * Takes the payload src[start, end): straight into its batch when the
   * producer is started and has room, else into the queue (`own` when src is
   * the record's framed buffer already, else a framed copy).
   */
  private place(src: Buffer, start: number, end: number, key: string | undefined, waiter: Settler<RecordAck> | undefined, own: Buffer | undefined): void {
    const size = RECORD_HEADER_BYTES + end - start;
    if (this.partitions && this.queue.length === 0 && !(this.buffered > 0 && this.buffered + size > this.options.bufferBytes)) {
      this.addToBatch(this.partitioner!.place(key), src, start, end, waiter);
      return;
    }
    this.enqueue(own ?? framedCopy(src, start, end), key, waiter);
  }

  private enqueue(bytes: Buffer, key: string | undefined, waiter: Settler<RecordAck> | undefined): void {
    this.queue.push({ kind: 'record', bytes, key, waiter });
    this.queuedRecords++;
    this.startInit();
    this.drain();
  }

  private keyOf(record: DatasetRecord): string | undefined {
    if (this.options.key === undefined) return undefined;
    try {
      return recordKey(this.options.key, record);
    } catch (err) {
      if (err instanceof LaminateError) throw err;
      throw new LaminateError('INVALID_ARGUMENT', `The key function threw on a record: ${String(err)}`, { cause: err });
    }
  }

  private hasRoom(): boolean {
    return this.queuedRecords === 0 && this.buffered < this.options.bufferBytes;
  }

  /** Moves queued records into batches while there is room; runs flush markers once all before them are batched. */
  private drain(): void {
    const states = this.partitions;
    if (!states || this.failure) return;
    while (this.queue.length > 0) {
      const head = this.queue.peek()!;
      if (head.kind === 'flush') {
        this.queue.shift();
        this.startFlush(states, head);
        continue;
      }
      if (this.buffered > 0 && this.buffered + head.bytes.length > this.options.bufferBytes) break;
      this.queue.shift();
      this.queuedRecords--;
      const p = this.partitioner!.place(head.key);
      this.addToBatch(p, head.bytes, RECORD_HEADER_BYTES, head.bytes.length, head.waiter);
    }
    if (this.hasRoom()) for (const w of this.roomWaiters.splice(0)) w.resolve();
  }

  /** Frames a copy of the payload src[start, end) into partition p's open batch; sends what may go if that sealed a batch. */
  private addToBatch(p: number, src: Buffer, start: number, end: number, waiter: Settler<RecordAck> | undefined): void {
    const s = this.partitions![p]!;
    const size = RECORD_HEADER_BYTES + end - start;
    let sealed = false;
    if (s.open && s.open.bytes + size > s.open.buf.length) {
      if (s.open.bytes + size <= this.options.maxBatchBytes) {
        this.grow(s.open, s.open.bytes + size);
      } else {
        this.seal(p);
        sealed = true;
      }
    }
    const b = s.open ?? this.openBatch(p, size);
    src.copy(b.buf, b.bytes + RECORD_HEADER_BYTES, start, end);
    this.commit(p, b, end - start, waiter);
    // The batch sealed to make room goes now (if commit sealed this one too, it pumped: a second pump sends nothing more).
    // Nothing else changes what may be sent: linger timers, acks and flushes pump themselves.
    if (sealed) this.pump(p);
  }

  /**
   * Counts the record whose payload of `length` bytes now follows b.bytes
   * (its length prefix is written here), and seals the batch once full.
   */
  private commit(p: number, b: Batch, length: number, waiter: Settler<RecordAck> | undefined): void {
    b.buf.writeUInt32LE(length, b.bytes);
    b.bytes += RECORD_HEADER_BYTES + length;
    if (waiter) {
      b.waiters.push(waiter);
      b.waiterAt.push(b.count);
    }
    b.count++;
    this.buffered += RECORD_HEADER_BYTES + length;
    if (b.bytes >= this.options.maxBatchBytes) {
      this.seal(p);
      this.pump(p);
    }
  }

  private openBatch(p: number, firstRecordBytes: number): Batch {
    const s = this.partitions![p]!;
    let settle!: () => void;
    const own = new Promise<void>((r) => { settle = r; });
    const settled = s.lastSettled === undefined ? own : Promise.all([s.lastSettled, own]).then(() => undefined);
    s.lastSettled = settled;
    const buf = this.batchBuffer(s, firstRecordBytes);
    this.openBufferBytes += buf.length;
    const b: Batch = {
      partition: p, buf, bytes: 0, count: 0,
      waiters: [], waiterAt: [], deadline: this.now() + this.options.deliveryTimeoutMs,
      ready: false, sequence: -1, index: -1, inFlight: false, settled, settle,
    };
    s.open = b;
    // Not unref'd: it holds records the caller expects to be sent.
    s.lingerTimer = setTimeout(() => {
      delete s.lingerTimer;
      b.ready = true;
      this.pump(p);
    }, this.options.lingerMs);
    return b;
  }

  /**
   * A buffer for a new batch of partition s: of the size class of its last
   * batch (or of the first record, if larger; of one record larger than
   * maxBatchBytes, if it is), which grow() doubles as records come. Of the
   * smallest class instead when that would take the open batches' buffers
   * past bufferBytes: a batch's buffer is allocated when it opens, and a
   * keyed producer over many partitions holds an open batch per partition,
   * a full-size buffer each (1 MiB by default) passing bufferBytes, which
   * counts record bytes, long before the records did.
   */
  private batchBuffer(s: PartitionState, firstRecordBytes: number): Buffer {
    // The last batch's size (a single record above maxBatchBytes aside), while the open batches' buffers stay within bufferBytes.
    const hint = Math.min(s.lastBatchBytes, this.options.maxBatchBytes);
    const wanted = this.openBufferBytes + this.buffers.classFor(hint) <= this.options.bufferBytes ? hint : 0;
    return this.buffers.take(Math.max(firstRecordBytes, wanted));
  }

  /** Moves an open batch into a buffer at least `bytes` long (the next size class: double, up to maxBatchBytes). */
  private grow(b: Batch, bytes: number): void {
    const buf = this.buffers.take(bytes);
    b.buf.copy(buf, 0, 0, b.bytes);
    this.openBufferBytes += buf.length - b.buf.length;
    this.release(b.buf);
    b.buf = buf;
  }

  /** Keeps a batch buffer no one reads any more for a later batch, while the free ones and the bytes buffered fit in bufferBytes. */
  private release(buf: Buffer): void {
    this.buffers.give(buf, (spareBytes) => this.buffered + spareBytes <= this.options.bufferBytes);
  }

  /** Closes the open batch: it gets its sequence and joins the partition's send queue. */
  private seal(p: number): void {
    const s = this.partitions![p]!;
    const b = s.open;
    if (!b) return;
    delete s.open;
    if (s.lingerTimer) clearTimeout(s.lingerTimer);
    delete s.lingerTimer;
    this.openBufferBytes -= b.buf.length;
    // A batch sent by linger time or a flush may hold little of its buffer: it
    // moves to a smaller one, so that a sealed batch holds at most twice its
    // bytes (memory held stays within twice bufferBytes plus the open
    // batches: sealed batches may queue by the thousand behind a slow
    // master), and its buffer goes to the next batch. A batch under half the
    // smallest class gets a buffer of its own size, which is not kept after.
    const fits = b.bytes <= this.options.maxBatchBytes ? this.buffers.classFor(b.bytes) : b.buf.length;
    if (fits < b.buf.length || b.bytes * 2 < fits) {
      const buf = b.bytes * 2 < fits ? allocateAppendBuffer(b.bytes) : this.buffers.take(b.bytes);
      b.buf.copy(buf, 0, 0, b.bytes);
      this.release(b.buf);
      b.buf = buf;
    }
    b.body = b.buf.subarray(0, b.bytes);
    s.lastBatchBytes = b.bytes;
    b.sequence = s.nextSequence;
    s.nextSequence += b.count;
    b.index = s.nextIndex++;
    s.sealed.push(b);
    // Sticky partitioning (Kafka's KIP-480): unkeyed records fill one
    // partition's batch, then move on to the next, so batches stay large.
    if (p === this.partitioner!.partition()) this.partitioner!.nextBatch();
  }

  private startFlush(states: PartitionState[], marker: FlushMarker): void {
    const waits: Array<Promise<void>> = [];
    states.forEach((s, p) => {
      if (s.open && marker.hurry) s.open.ready = true;
      // The newest batch's settled covers every batch before it.
      if (s.lastSettled) waits.push(s.lastSettled);
      this.pump(p);
    });
    void Promise.all(waits).then(() => {
      if (this.failure) marker.reject(this.failure);
      else marker.resolve();
    });
  }

  // ---- batches → the store -----------------------------------------------------

  private pump(p: number): void {
    if (this.failure) return;
    const s = this.partitions![p]!;
    // A ready batch is sealed only when it would go now, so that it keeps
    // filling while the partition waits (Kafka's accumulator does the same).
    if (s.open?.ready && !s.retrying && s.sealed.length < this.options.maxInFlight) this.seal(p);
    if (s.retrying) {
      if (s.inFlight === 0 && !s.retryTimer && s.sealed.length > 0) {
        s.retryTimer = setTimeout(() => {
          delete s.retryTimer;
          const oldest = s.sealed[0];
          if (oldest && !oldest.inFlight && !this.failure) this.sendBatch(oldest);
        }, s.backoffMs);
        s.backoffMs = Math.min(s.backoffMs * 2, this.options.retryBackoffMaxMs);
      }
      return;
    }
    // Only batches within maxInFlight of the oldest unacknowledged one go:
    // then whatever the store may have kept of ours since that one is within
    // the last five batches it remembers per producer, so a retry of any of
    // them is recognised as a repeat (acknowledged batches count too).
    const oldest = s.sealed[0]?.index ?? 0;
    for (const b of s.sealed) {
      if (b.index - oldest >= this.options.maxInFlight) break;
      if (!b.inFlight) this.sendBatch(b);
    }
  }

  private sendBatch(b: Batch): void {
    const s = this.partitions![b.partition]!;
    b.inFlight = true;
    s.inFlight++;
    const timeoutMs = Math.max(1, Math.min(this.options.requestTimeoutMs, b.deadline - this.now()));
    const batch: AppendBatch = {
      dataset: this.dataset, partition: b.partition, body: b.body!, count: b.count,
      producerId: this.producerId, sequence: b.sequence, ...(this.options.replay ? { replay: true } : {}),
    };
    this.transport.append([batch], timeoutMs).then(
      (results) => this.acknowledged(b, results[0]),
      (err: unknown) => this.refused(b, err),
    );
  }

  private acknowledged(b: Batch, result: AppendResult | undefined): void {
    const s = this.partitions![b.partition]!;
    b.inFlight = false;
    s.inFlight--;
    if (this.failure) return;
    if (!result || result.count + result.skipped !== b.count || result.partition !== b.partition || (result.skipped > 0 && !this.options.replay)) {
      this.fail(new LaminateError('INTERNAL', `Expected an acknowledgement of ${b.count} records on partition ${b.partition}, got ${JSON.stringify(result)}`));
      return;
    }
    s.sealed.splice(s.sealed.indexOf(b), 1);
    if (s.retrying && !s.sealed.some((x) => x.sequence < b.sequence)) {
      s.retrying = false;
      s.backoffMs = this.options.retryBackoffMs;
      this.log.info({ partition: b.partition, sequence: b.sequence }, 'batch acknowledged after retrying: sending again in pipeline');
    }
    this.buffered -= b.bytes;
    // Which records an earlier run stored is known from where the id stood at the start, not from
    // the answer: a duplicate answer to a retry cannot tell this run's first attempt from an earlier run.
    const before = Math.min(b.count, Math.max(0, s.storedBefore - b.sequence));
    this.skipped += before;
    for (let i = 0; i < b.waiters.length; i++) {
      const at = b.waiterAt[i]!;
      // The answer gives offsets from its firstOffset for the records after the ones it skipped.
      const offset = at < result.skipped ? -1 : result.firstOffset + at - result.skipped;
      b.waiters[i]!.resolve(at < before ? { partition: b.partition, offset, alreadyStored: true } : { partition: b.partition, offset });
    }
    b.settle();
    // Acknowledged: nothing sends its body again (a retry would be of an unacknowledged batch).
    this.release(b.buf);
    b.buf = EMPTY;
    delete b.body;
    this.pump(b.partition);
    this.drain();
  }

  private refused(b: Batch, err: unknown): void {
    const s = this.partitions![b.partition]!;
    b.inFlight = false;
    s.inFlight--;
    if (this.failure) return;
    const oldest = s.sealed[0] === b;
    // An out-of-order answer to a batch behind an unacknowledged one is the
    // echo of that one's failure: it goes in order once the earlier one lands.
    const retriable = isRetriable(err) || (err instanceof LaminateError && err.code === 'OUT_OF_ORDER_SEQUENCE' && !oldest);
    if (!retriable) {
      this.fail(err instanceof LaminateError ? err : new LaminateError('INTERNAL', String(err), { cause: err }));
      return;
    }
    if (this.now() >= b.deadline) {
      this.fail(new LaminateError('TIMEOUT', `A batch of ${b.count} records for ${this.dataset}/${b.partition} (producer ${this.producerId}, sequence ${b.sequence}) was not acknowledged within ${this.options.deliveryTimeoutMs} ms; last error: ${(err as Error).message}`, { cause: err, ids: { dataset: this.dataset, partition: b.partition } }));
      return;
    }
    if (!s.retrying) this.log.warn({ partition: b.partition, sequence: b.sequence, err }, 'batch not acknowledged: retrying it with the same sequence');
    s.retrying = true;
    this.pump(b.partition);
  }

  // ---- start and failure -------------------------------------------------------

  /** Learns the dataset's partitions and where this producer left off, retrying as a batch would. */
  private startInit(): void {
    this.initializing ??= (async () => {
      const deadline = this.now() + this.options.deliveryTimeoutMs;
      let backoff = this.options.retryBackoffMs;
      for (;;) {
        try {
          const timeoutMs = Math.max(1, Math.min(this.options.requestTimeoutMs, deadline - this.now()));
          const d = await this.transport.describeDataset(this.dataset, timeoutMs);
          const seqs = await this.transport.initProducer(this.dataset, this.producerId, timeoutMs);
          const next = new Map(seqs.map((x) => [x.partition, x.nextSequence]));
          // Unkeyed records start on a random partition, so that many short-lived producers spread out
          // (a replay's go in fixed runs from partition 0: see KeyPartitioner).
          this.partitioner = this.options.replay
            ? new KeyPartitioner(d.partitions.length, 0, REPLAY_RUN_RECORDS)
            : new KeyPartitioner(d.partitions.length, Math.floor(Math.random() * d.partitions.length));
          // A replay numbers its records from 0, as the run it repeats did; else go on where the id left off.
          this.partitions = d.partitions.map((_, p) => ({
            nextSequence: this.options.replay ? 0 : next.get(p) ?? 0, storedBefore: this.options.replay ? next.get(p) ?? 0 : 0, nextIndex: 0, lastBatchBytes: 0, sealed: [], inFlight: 0, retrying: false, backoffMs: this.options.retryBackoffMs,
          }));
          this.log.debug({ partitions: d.partitions.length, resumed: seqs.length }, 'producer ready');
          return;
        } catch (err) {
          if (!isRetriable(err) || this.now() + backoff >= deadline) throw err;
          await new Promise((r) => setTimeout(r, backoff));
          backoff = Math.min(backoff * 2, this.options.retryBackoffMaxMs);
        }
      }
    })().then(
      () => this.drain(),
      (err: unknown) => this.fail(err instanceof LaminateError ? err : new LaminateError('INTERNAL', String(err), { cause: err })),
    );
  }

  /** Fails the producer: every record not acknowledged, and every later one, is rejected with `err`. */
  private fail(err: LaminateError): void {
    if (this.failure) return;
    this.failure = err;
    this.log.error({ err }, 'producer failed: records not acknowledged are rejected');
    for (const q of this.queue.takeAll()) (q.kind === 'flush' ? q : q.waiter)?.reject(err);
    this.queuedRecords = 0;
    for (const w of this.roomWaiters.splice(0)) w.reject(err);
    this.clearTimers();
    for (const s of this.partitions ?? []) {
      const batches = s.open ? [...s.sealed, s.open] : [...s.sealed];
      delete s.open;
      s.sealed.length = 0;
      for (const b of batches) {
        for (const r of b.waiters) r.reject(err);
        b.settle();
      }
    }
    this.buffered = 0;
    this.openBufferBytes = 0;
  }

  private clearTimers(): void {
    for (const s of this.partitions ?? []) {
      if (s.lingerTimer) clearTimeout(s.lingerTimer);
      if (s.retryTimer) clearTimeout(s.retryTimer);
      delete s.lingerTimer;
      delete s.retryTimer;
    }
  }
}
