/**
 * The reduce side of the shuffle: fetches this reducer's partition of every
 * map output from the worker that holds it, in chunks over gRPC, a few at a
 * time. Small segments stay in memory up to a budget; the rest are written
 * to the attempt's work directory, so memory is bounded by the task's
 * memory, not by the size of the shuffle.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { errorMessage, LaminateError } from '../common/errors.js';
import type { WireMapOutputSource } from '../protocol/messages.js';
import { ShuffleClient } from '../protocol/shuffle-rpc.js';
import { bufferSegment, fileSegment, type Segment } from '../storage/segment.js';

export class FetchFailure extends Error {
  constructor(readonly mapIndex: number, readonly mapAttemptId: string, message: string) {
    super(message);
    this.name = 'FetchFailure';
  }
}

export interface FetchOptions {
  readonly partition: number;
  /** Where segments too large for memory go, as `<filePrefix>.shuffle-<map>`. */
  readonly workDir: string;
  readonly filePrefix: string;
  /** Bytes of fetched map output kept in memory at most. */
  readonly memoryBudget: number;
  readonly parallel?: number;
  /** Tries per map output before reporting a fetch failure. Default 3. */
  readonly tries?: number;
  readonly retryDelayMs?: number;
  readonly timeoutMs?: number;
}

export interface FetchResult {
  readonly segments: Segment[];
  readonly bytes: number;
}

export async function fetchSegments(sources: readonly WireMapOutputSource[], o: FetchOptions): Promise<FetchResult> {
  const clients = new Map<string, ShuffleClient>();
  const client = (addr: string): ShuffleClient => {
    let c = clients.get(addr);
    if (!c) clients.set(addr, (c = new ShuffleClient(addr)));
    return c;
  };
  // Segments keep map order, so values of equal keys reach reduce in a stable order.
  const segments: Array<Segment | undefined> = new Array(sources.length);
  let inMemory = 0;
  let bytes = 0;
  const queue = sources.map((s, i) => ({ s, i })).filter(({ s }) => (s.partition?.length ?? 0) > 0);
  const fetchOne = async (s: WireMapOutputSource, i: number): Promise<void> => {
    const length = s.partition!.length;
    const toMemory = inMemory + length <= o.memoryBudget;
    if (toMemory) inMemory += length;
    const tries = o.tries ?? 3;
    let lastErr: unknown;
    for (let t = 1; t <= tries; t++) {
      try {
        const req = { mapAttemptId: s.attemptId, partition: o.partition, offset: s.partition!.offset, length };
        const stream = client(s.shuffleAddress).fetch(req, o.timeoutMs ?? 120_000);
        if (toMemory) {
          const parts: Buffer[] = [];
          let got = 0;
          for await (const chunk of stream) { parts.push(chunk); got += chunk.length; }
          if (got !== length) throw new LaminateError('FETCH_FAILED', `expected ${length} bytes, got ${got}`);
          segments[i] = bufferSegment(Buffer.concat(parts, got));
        } else {
          const path = join(o.workDir, `${o.filePrefix}.shuffle-${s.mapIndex}`);
          const out = createWriteStream(path);
          let got = 0;
          for await (const chunk of stream) {
            got += chunk.length;
            if (!out.write(chunk)) await once(out, 'drain');
          }
          out.end();
          await once(out, 'finish');
          if (got !== length) throw new LaminateError('FETCH_FAILED', `expected ${length} bytes, got ${got}`);
          segments[i] = fileSegment(path, 0, length);
        }
        bytes += length;
        return;
      } catch (err) {
        lastErr = err;
        if (t < tries) await new Promise((r) => setTimeout(r, (o.retryDelayMs ?? 200) * 2 ** (t - 1)));
      }
    }
    if (!s.shuffleAddress) {
      throw new FetchFailure(s.mapIndex, s.attemptId, `no shuffle address for ${s.attemptId} (its worker is gone)`);
    }
    throw new FetchFailure(s.mapIndex, s.attemptId, `could not fetch ${s.attemptId} from ${s.shuffleAddress} after ${tries} tries: ${errorMessage(lastErr)}`);
  };
  try {
    const workers = Array.from({ length: Math.min(o.parallel ?? 5, queue.length) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await fetchOne(next.s, next.i);
    });
    await Promise.all(workers);
  } finally {
    for (const c of clients.values()) c.close();
  }
  return { segments: segments.filter((s): s is Segment => s !== undefined), bytes };
}
