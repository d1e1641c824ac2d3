/**
 * The reduce side of the shuffle: fetches this reducer's partition of every
 * map output from the worker that holds it, in chunks over gRPC, a few at a
 * time. Small runs stay in memory up to a budget; the rest are written
 * to the attempt's work directory, so memory is bounded by the task's
 * memory, not by the size of the shuffle. A map output on this host is read
 * from its file where the map wrote it instead (host-local.ts): no copy.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { errorMessage, LaminateError, type ErrorCode } from '../common/errors.js';
import type { MapOutputLocation } from '../common/task-attempt.js';
import { ShuffleClient } from '../protocol/shuffle-rpc.js';
import { chunksRun, fileRun, type SortedRun } from '../storage/sorted-run.js';
import { FetchFailure } from './fetch-failure.js';
import { HOST_LOCAL_BUFFER, hostIdentity, openSameFile } from './host-local.js';

export { FetchFailure };

export interface FetchOptions {
  readonly partition: number;
  /** Where runs too large for memory go, as `<filePrefix>.shuffle-<map>`. */
  readonly workDir: string;
  readonly filePrefix: string;
  /** Bytes of fetched map output kept in memory at most. */
  readonly memoryBudget: number;
  readonly parallel?: number;
  /** Tries per map output before reporting a fetch failure. Default 3. */
  readonly tries?: number;
  readonly retryDelayMs?: number;
  readonly timeoutMs?: number;
  /**
   * Read map outputs on this host from their files (host-local.ts) rather
   * than have their servers stream them. Default true; the worker's
   * `--no-host-local-reads` turns it off.
   */
  readonly hostLocal?: boolean;
  /**
   * Called once when every fetch this call started has ended: with the
   * result, or after a failure, once the fetches then under way have ended
   * on their own (no new one starts). For tests, which wait for it instead
   * of for time to pass.
   */
  readonly onAllSettled?: () => void;
}

export interface FetchResult {
  readonly runs: SortedRun[];
  /** Bytes of every run, streamed or read host-local. */
  readonly bytes: number;
  /** Of those, the bytes read from files on this host (Spark's local bytes read). */
  readonly localBytes: number;
}

/** Codes of a peer's (or the network's) answer that mean the map output could not be had. */
const FETCH_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['UNAVAILABLE', 'NOT_FOUND', 'TIMEOUT', 'FETCH_FAILED', 'CANCELLED', 'INTERNAL']);

/**
 * An error of the fetch itself: the shuffle stream failed with one of
 * FETCH_ERROR_CODES, or sent the wrong number of bytes. Anything else (a
 * full disk writing the spool file, a bug) is this reducer's own and is
 * rethrown as it is, so the attempt fails with its real cause.
 */
class PeerFetchError extends Error {
  constructor(readonly error: LaminateError) {
    super(error.message, { cause: error });
    this.name = 'PeerFetchError';
  }
}

/** The shuffle stream's chunks; its failures with FETCH_ERROR_CODES become PeerFetchErrors. */
async function* fromPeer(stream: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* stream;
  } catch (err) {
    if (err instanceof LaminateError && FETCH_ERROR_CODES.has(err.code)) throw new PeerFetchError(err);
    throw err;
  }
}

function checkLength(got: number, length: number): void {
  if (got !== length) throw new PeerFetchError(new LaminateError('FETCH_FAILED', `expected ${length} bytes, got ${got}`));
}

/**
 * Fetches this reducer's partition of every map output, `parallel` at a
 * time, each up to `tries` times. Runs keep map order.
 *
 * @throws FetchFailure when a map output cannot be fetched (its worker has
 *   no shuffle address, or every try failed in the fetch itself). Any other
 *   error is rethrown as it is. On the first failure no further fetch or
 *   retry starts, and the error propagates.
 */
export async function fetchRuns(sources: readonly MapOutputLocation[], o: FetchOptions): Promise<FetchResult> {
  const clients = new Map<string, ShuffleClient>();
  const client = (addr: string): ShuffleClient => {
    let c = clients.get(addr);
    if (!c) clients.set(addr, (c = new ShuffleClient(addr)));
    return c;
  };
  // Runs keep map order, so values of equal keys reach reduce in a stable order.
  const runs: Array<SortedRun | undefined> = new Array(sources.length);
  let inMemory = 0;
  let bytes = 0;
  let localBytes = 0;
  // Servers that answered LocatePartition with UNIMPLEMENTED: streamed from.
  const noLocate = new Set<string>();
  // Set by the first fetch that fails: the others start nothing more.
  let failed = false;
  const queue = sources.map((s, i) => ({ s, i })).filter(({ s }) => s.partition.length > 0);

  /**
   * The host-local read of a map output, if its server says where the file
   * is and it is on this host (openSameFile): the run reads it in place, and
   * checks again at its open that it is the same file (a file gone by then
   * is a fetch failure, as a stream that could not start). False when the
   * bytes must be streamed. Throws a PeerFetchError when the server fails as
   * a fetch would.
   */
  const readHostLocal = async (s: MapOutputLocation, i: number, length: number): Promise<boolean> => {
    if (o.hostLocal === false || noLocate.has(s.shuffleAddress)) return false;
    const req = { mapAttemptId: s.attemptId, workerId: s.workerId, partition: o.partition, offset: s.partition.offset, length };
    const file = await client(s.shuffleAddress).locate(req, o.timeoutMs ?? 120_000).catch((err: unknown) => {
      if (err instanceof LaminateError && FETCH_ERROR_CODES.has(err.code)) throw new PeerFetchError(err);
      throw err;
    });
    // A server that cannot say, or is on another host, is not asked again by this reducer.
    if (!file || file.host !== hostIdentity()) {
      noLocate.add(s.shuffleAddress);
      return false;
    }
    const found = await openSameFile(file);
    if (!('fh' in found)) return false;
    await found.fh.close();
    runs[i] = fileRun(file.path, s.partition.offset, length, HOST_LOCAL_BUFFER, async () => {
      const again = await openSameFile(file);
      if ('fh' in again) return again.fh;
      // This reducer's own trouble (no permission, no descriptors left) is its failure, not the map's.
      if (again.why === 'error') throw again.error;
      throw new FetchFailure(s.mapIndex, s.attemptId, `the map output of ${s.attemptId} at '${file.path}' on this host was ${again.why === 'replaced' ? 'replaced' : 'gone'} when the reduce came to read it`);
    });
    return true;
  };

  /** One try; throws a PeerFetchError when the fetch itself fails. */
  const tryFetch = async (s: MapOutputLocation, i: number, length: number, toMemory: boolean): Promise<void> => {
    const req = { mapAttemptId: s.attemptId, workerId: s.workerId, partition: o.partition, offset: s.partition.offset, length };
    const stream = fromPeer(client(s.shuffleAddress).fetch(req, o.timeoutMs ?? 120_000));
    if (toMemory) {
      const parts: Buffer[] = [];
      let got = 0;
      for await (const chunk of stream) {
        parts.push(chunk);
        got += chunk.length;
      }
      checkLength(got, length);
      runs[i] = chunksRun(parts, `the fetched partition ${o.partition} of ${s.attemptId}`);
      return;
    }
    const path = join(o.workDir, `${o.filePrefix}.shuffle-${s.mapIndex}`);
    const out = createWriteStream(path);
    // A write error (the file cannot be opened, the disk is full) may come
    // while the stream is read: keep it for the next write, rather than let
    // an 'error' nobody listens to take the thread down.
    let writeError: unknown;
    out.on('error', (err) => { writeError ??= err; });
    let finished = false;
    try {
      let got = 0;
      for await (const chunk of stream) {
        got += chunk.length;
        if (writeError !== undefined) throw writeError;
        if (!out.write(chunk)) await once(out, 'drain');
      }
      if (writeError !== undefined) throw writeError;
      out.end();
      await once(out, 'finish');
      finished = true;
      checkLength(got, length);
    } finally {
      // A failed try leaves no open file behind (the next try rewrites the path).
      if (!finished) out.destroy();
    }
    runs[i] = fileRun(path, 0, length);
  };

  const fetchOne = async (s: MapOutputLocation, i: number): Promise<void> => {
    if (!s.shuffleAddress) {
      throw new FetchFailure(s.mapIndex, s.attemptId, `no shuffle address for ${s.attemptId} (its worker is gone)`);
    }
    const length = s.partition.length;
    // Taken from the budget at the first stream: a host-local run holds only its read buffer.
    let toMemory: boolean | undefined;
    const tries = o.tries ?? 3;
    let lastErr: PeerFetchError | undefined;
    let tried = 0;
    while (tried < tries) {
      tried++;
      try {
        if (await readHostLocal(s, i, length)) {
          // A try before may have taken the budget for a stream that failed.
          if (toMemory === true) inMemory -= length;
          bytes += length;
          localBytes += length;
          return;
        }
        if (toMemory === undefined) {
          toMemory = inMemory + length <= o.memoryBudget;
          if (toMemory) inMemory += length;
        }
        await tryFetch(s, i, length, toMemory);
        bytes += length;
        return;
      } catch (err) {
        if (!(err instanceof PeerFetchError)) throw err;
        lastErr = err;
      }
      if (tried < tries) {
        await new Promise((r) => setTimeout(r, (o.retryDelayMs ?? 200) * 2 ** (tried - 1)));
        // Another fetch failed meanwhile: the attempt is over, trying again is wasted.
        if (failed) break;
      }
    }
    throw new FetchFailure(s.mapIndex, s.attemptId, `could not fetch ${s.attemptId} from ${s.shuffleAddress} after ${tried} ${tried === 1 ? 'try' : 'tries'}: ${errorMessage(lastErr)}`);
  };

  const workers = Array.from({ length: Math.min(o.parallel ?? 5, queue.length) }, async () => {
    for (let next = failed ? undefined : queue.shift(); next; next = failed ? undefined : queue.shift()) {
      try {
        await fetchOne(next.s, next.i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  });
  const onAllSettled = o.onAllSettled;
  if (onAllSettled) void Promise.allSettled(workers).then(() => onAllSettled());
  try {
    await Promise.all(workers);
  } finally {
    for (const c of clients.values()) c.close();
  }
  return { runs: runs.filter((s): s is SortedRun => s !== undefined), bytes, localBytes };
}
