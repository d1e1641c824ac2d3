/**
 * Tailing one source partition for a view thread: a follow read of the
 * Dataset service from an offset, in chunks (the store's 256 KiB of records
 * each), handed to the fold one chunk at a time; reopened from where it got
 * to when the connection drops (a master restart), with a backoff; stopped
 * by its owner (a reset, the partition moving away, a map error, close).
 *
 * Also the bounded re-read a split needs: the records [from, to), in chunks.
 */
import { LaminateError } from '../common/errors.js';
import type { ReadChunk } from '../common/dataset-shapes.js';
import type { DatasetClient } from '../protocol/dataset-rpc.js';

export interface TailerOptions {
  readonly client: DatasetClient;
  readonly dataset: string;
  readonly partition: number;
  /**
   * Where the next read starts: asked at every (re)open, so that a reopen
   * resumes exactly after what was folded.
   */
  position(): number;
  /** Folds one chunk, synchronously; returns false to stop tailing (the map failed). */
  onChunk(chunk: ReadChunk): boolean;
  /** A read failed and will be retried after `retryInMs`. */
  onError(err: unknown, retryInMs: number): void;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2000;

/**
 * A running tail. Created by its owner when a partition starts or restarts
 * at a new offset; stop() ends it (idempotent), after which no chunk is
 * handed over.
 */
export class PartitionTailer {
  private readonly abort = new AbortController();
  private stopped = false;
  /** Resolves when the loop has ended. */
  readonly done: Promise<void>;

  constructor(private readonly o: TailerOptions) {
    this.done = this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
  }

  private async loop(): Promise<void> {
    let backoff = MIN_BACKOFF_MS;
    while (!this.stopped) {
      try {
        const chunks = this.o.client.read({ dataset: this.o.dataset, partition: this.o.partition, from: this.o.position(), follow: true }, this.abort.signal);
        for await (const chunk of chunks) {
          if (this.stopped) return;
          backoff = MIN_BACKOFF_MS;
          if (!this.o.onChunk(chunk)) {
            this.stop();
            return;
          }
        }
      } catch (err) {
        if (this.stopped) return;
        this.o.onError(err, backoff);
        await sleep(backoff, this.abort.signal);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Reads the records [from, to) of a partition and hands each chunk's
 * records, with their first offset, to `each`. Throws what the read throws
 * (the caller retries the split later) and what `each` throws.
 */
export async function readRange(client: DatasetClient, dataset: string, partition: number, from: number, to: number, each: (firstOffset: number, body: Uint8Array) => void): Promise<void> {
  let at = from;
  for await (const chunk of client.read({ dataset, partition, from, endOffset: to, follow: false })) {
    if (chunk.count === 0) continue;
    if (chunk.firstOffset !== at) throw new LaminateError('INTERNAL', `Expected the chunk at offset ${at} of ${dataset}/${partition}, got one at ${chunk.firstOffset}`);
    each(chunk.firstOffset, chunk.body);
    at = chunk.nextOffset;
  }
  if (at !== to) throw new LaminateError('UNAVAILABLE', `Expected the records [${from}, ${to}) of ${dataset}/${partition}, got a read that ended at ${at}`);
}
