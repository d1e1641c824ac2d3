import { allocateAppendBuffer } from '../protocol/append-encoding.js';

/** The smallest batch buffer: a new batch starts here unless its partition's last batch was larger. */
export const FIRST_BATCH_BUFFER_BYTES = 64 * 1024;

/**
 * The producer's free batch buffers, by size class: FIRST_BATCH_BUFFER_BYTES
 * doubled up to maxBatchBytes (the top class is maxBatchBytes itself, a power
 * of two or not). Every buffer has the Append request's headroom before it
 * (allocateAppendBuffer), so that a body goes out uncopied.
 *
 * Why any size is kept, not only full ones: a fresh buffer of 64 KiB or more
 * is memory outside the JS heap, and V8 answers external memory growth with
 * full collections. A producer at a steady rate below its batch size seals
 * each batch by linger time at the same size (~70 KB at 50,000 records/s),
 * and when only maxBatchBytes buffers were kept, each such batch allocated a
 * 64 and a 128 KiB buffer afresh: ~38 MB/s outside the heap, and two major
 * collections a second in the client (measured by the ingest bench's
 * latency run). Kafka's BufferPool keeps only batch.size buffers too, but
 * its batch.size is 16 KiB, so its batches rarely outgrow one.
 *
 * Bounded by the caller: give() keeps a buffer only while `room(bytes)`
 * says the producer's buffered bytes and the spares fit in bufferBytes.
 */
export class BatchBuffers {
  /** Free buffers per class, smallest class first. */
  private readonly free: Buffer[][];
  private readonly sizes: number[];
  private freeBytes = 0;

  constructor(readonly maxBatchBytes: number) {
    this.sizes = [];
    for (let size = FIRST_BATCH_BUFFER_BYTES; size < maxBatchBytes; size *= 2) this.sizes.push(size);
    this.sizes.push(maxBatchBytes);
    this.free = this.sizes.map(() => []);
  }

  /** Bytes held free. */
  get spareBytes(): number {
    return this.freeBytes;
  }

  /** The class a buffer of at least `bytes` has (maxBatchBytes at most): the size take() gives. */
  classFor(bytes: number): number {
    return this.sizes[this.classIndex(bytes)]!;
  }

  /**
   * A buffer of classFor(bytes): a free one of that class if any, else a
   * fresh one. `bytes` above maxBatchBytes (one record larger than a batch)
   * gets a buffer of exactly that size, which give() will not keep.
   */
  take(bytes: number): Buffer {
    if (bytes > this.maxBatchBytes) return allocateAppendBuffer(bytes);
    const i = this.classIndex(bytes);
    const buf = this.free[i]!.pop();
    if (buf) {
      this.freeBytes -= buf.length;
      return buf;
    }
    return allocateAppendBuffer(this.sizes[i]!);
  }

  /**
   * Keeps a buffer no batch reads any more (its batch acknowledged, or its
   * records moved to another buffer), if it is of a class and `room` allows
   * holding it. When it does not, free buffers of other classes are dropped
   * (smallest class first) to make room: the buffer just given is of the
   * size batches have now, and a pool left full of another size by an
   * earlier phase (small batches before a bulk load, say) would otherwise
   * keep no buffer of the new size for the rest of the producer's life.
   * Called once per buffer: a buffer given twice would be handed to two
   * batches.
   */
  give(buf: Buffer, room: (spareBytes: number) => boolean): void {
    const i = this.sizes.indexOf(buf.length);
    if (i < 0) return;
    for (let j = 0; j < this.free.length && !room(this.freeBytes + buf.length); j++) {
      if (j === i) continue;
      const list = this.free[j]!;
      while (list.length > 0 && !room(this.freeBytes + buf.length)) this.freeBytes -= list.pop()!.length;
    }
    if (!room(this.freeBytes + buf.length)) return;
    this.free[i]!.push(buf);
    this.freeBytes += buf.length;
  }

  /** Drops every free buffer (the producer closed). */
  clear(): void {
    for (const list of this.free) list.length = 0;
    this.freeBytes = 0;
  }

  private classIndex(bytes: number): number {
    let i = 0;
    while (i < this.sizes.length - 1 && this.sizes[i]! < bytes) i++;
    return i;
  }
}
