/**
 * The floor's word count loop: reads a file in 16 MiB chunks, cuts each at
 * its last letter boundary so no word is split, tokenizes with the
 * benchmark's tokenizer and counts in a Map. Bytes are read as latin1: words
 * are ASCII letters, and every other byte (UTF-8 ones included) only
 * separates them. Used by the floor process (wordcount-floor.ts) and, on the
 * first bytes of a file, by map-ab.ts.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { forEachWord } from '../jobs/tokenizer.js';

const isLetter = (b: number): boolean => ((b | 32) - 97) >>> 0 < 26;

/** Counts the words of the first `limit` bytes of `path` (all of it by default). */
export function countWords(path: string, limit = Number.POSITIVE_INFINITY): Map<string, number> {
  const counts = new Map<string, number>();
  const count = (w: string): void => { counts.set(w, (counts.get(w) ?? 0) + 1); };
  const buf = Buffer.allocUnsafe(16 * 1024 * 1024);
  const fd = openSync(path, 'r');
  let carry = 0; // bytes at the start of buf left over from the previous read (a word in progress)
  let left = limit;
  try {
    for (;;) {
      const n = readSync(fd, buf, carry, Math.min(left, buf.length - carry), null);
      left -= n;
      const end = carry + n;
      if (n === 0) {
        if (carry > 0) forEachWord(buf.toString('latin1', 0, carry), count);
        break;
      }
      let cut = end;
      while (cut > 0 && isLetter(buf[cut - 1]!)) cut--;
      if (cut === 0) throw new Error('a word longer than 16 MiB');
      forEachWord(buf.toString('latin1', 0, cut), count);
      buf.copyWithin(0, cut, end);
      carry = end - cut;
    }
  } finally {
    closeSync(fd);
  }
  return counts;
}

/** `word<TAB>count` lines, in the Map's order. */
export function formatCounts(counts: ReadonlyMap<string, number>): string {
  let out = '';
  for (const [w, c] of counts) out += `${w}\t${c}\n`;
  return out;
}
