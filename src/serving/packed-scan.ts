/**
 * A batch-only Scan of a version packed straight from its blocks: the
 * files' cursors (ScanCursor) merged in key order by their key bytes, each
 * entry's key and value copied into the answer's packed buffer
 * (packed-entries.ts PackedWriter) as it is passed. No key string, no
 * object per entry: the general path (mergeScanBatches, then
 * mergeScanEntries, then packEntries) made a string, a value view and two
 * objects per entry and encoded each key back to UTF-8, which made Scan
 * cost about a microsecond of the node's CPU per entry.
 *
 * Only for what needs no value decoded: no speed side, and a view whose
 * stored accumulator is its presented value (Presentation.identity). The
 * order is checked as mergeScanBatches checks it (each key after the one
 * before, so a key in two files or a file out of order is DATA_LOSS, never
 * a wrong answer).
 */
import { LaminateError } from '../common/errors.js';
import { PackedWriter } from '../protocol/packed-entries.js';
import type { ScanCursor } from '../view/scan-cursor.js';
import { compareRange } from '../view/view-block.js';

/** One packed chunk of a Scan's answer and how many entries it holds. */
export interface PackedChunk {
  readonly packed: Buffer;
  readonly count: number;
  /** Bytes before `packed` in its ArrayBuffer that the consumer may write (PackedWriter's headroom). */
  readonly headroom: number;
}

/** Whether cursor a's current key is before cursor b's. */
function before(a: ScanCursor, b: ScanCursor): boolean {
  return compareRange(a.key, 0, a.keyLength, b.key, 0, b.keyLength) < 0;
}

function siftDown(heap: ScanCursor[], i: number): void {
  const n = heap.length;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < n && before(heap[l]!, heap[m]!)) m = l;
    if (r < n && before(heap[r]!, heap[m]!)) m = r;
    if (m === i) return;
    const t = heap[i]!;
    heap[i] = heap[m]!;
    heap[m] = t;
    i = m;
  }
}

/**
 * The entries of `cursors` (one per file, each in key order) merged in key
 * order, at most `limit` in all, packed in chunks of about `chunkBytes`
 * (the last may be smaller; one empty chunk when there is no entry), each
 * with `headroom` free bytes before it (PackedWriter).
 * Closes every cursor when it ends, early or not. `aborted` is asked after
 * each chunk: true stops the scan. Called by the query handlers once per
 * batch-only Scan of an identity view.
 *
 * @throws LaminateError DATA_LOSS when the files' keys are not strictly
 *   ascending in the merge; what ScanCursor.step throws.
 */
export async function* packedScan(cursors: readonly ScanCursor[], limit: number, chunkBytes: number, aborted: () => boolean, headroom = 0): AsyncGenerator<PackedChunk, void, undefined> {
  try {
    const heap: ScanCursor[] = [];
    for (const c of cursors) {
      let has = c.step();
      if (has instanceof Promise) has = await has;
      if (has) heap.push(c);
    }
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
    const out = new PackedWriter(chunkBytes + 1024, headroom);
    // The key emitted last, for the order check.
    let previous = Buffer.allocUnsafe(256);
    let previousLength = -1;
    let remaining = limit;
    let sent = false;
    while (heap.length > 0 && remaining > 0) {
      const top = heap[0]!;
      const keyLength = top.keyLength;
      if (previousLength >= 0 && compareRange(previous, 0, previousLength, top.key, 0, keyLength) >= 0) {
        throw new LaminateError('DATA_LOSS', `Expected the files of a view version to hold each key once and in order, got ${JSON.stringify(top.key.toString('utf8', 0, keyLength))} after ${JSON.stringify(previous.toString('utf8', 0, previousLength))}`);
      }
      if (keyLength > previous.length) previous = Buffer.allocUnsafe(Math.max(keyLength, 2 * previous.length));
      for (let i = 0; i < keyLength; i++) previous[i] = top.key[i]!;
      previousLength = keyLength;
      out.addFound(top.key, keyLength, top.data, top.valueStart, top.valueEnd);
      remaining--;
      if (out.size >= chunkBytes) {
        const count = out.count;
        yield { packed: out.take(), count, headroom };
        sent = true;
        if (aborted()) return;
      }
      let has = top.step();
      if (has instanceof Promise) has = await has;
      if (has) {
        siftDown(heap, 0);
      } else {
        const last = heap.pop()!;
        if (heap.length > 0) {
          heap[0] = last;
          siftDown(heap, 0);
        }
      }
    }
    if (out.count > 0 || !sent) {
      const count = out.count;
      yield { packed: out.take(), count, headroom };
    }
  } finally {
    for (const c of cursors) c.close();
  }
}
