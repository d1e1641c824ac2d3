/**
 * The floor for any JavaScript word count: one process, no framework. Reads
 * the file in big chunks, cuts each at its last non-letter so no word is
 * split, tokenizes with the benchmark's tokenizer and counts in a Map; writes
 * `word<TAB>count` lines. Bytes are read as latin1: words are ASCII letters,
 * and every other byte (UTF-8 ones included) only separates them.
 *
 *   node dist/bench/baselines/wordcount-floor.js INPUT OUTPUT
 */
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { forEachWord } from '../jobs/tokenizer.js';

const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error('usage: wordcount-floor INPUT OUTPUT');

const counts = new Map<string, number>();
const count = (w: string): void => { counts.set(w, (counts.get(w) ?? 0) + 1); };
const isLetter = (b: number): boolean => ((b | 32) - 97) >>> 0 < 26;

const buf = Buffer.allocUnsafe(16 * 1024 * 1024);
const fd = openSync(input, 'r');
let carry = 0; // bytes at the start of buf left over from the previous read (a word in progress)
for (;;) {
  const n = readSync(fd, buf, carry, buf.length - carry, null);
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
closeSync(fd);

let out = '';
for (const [w, c] of counts) out += `${w}\t${c}\n`;
writeFileSync(output, out);
