/**
 * The sort benchmark's Laminate job (TeraSort): a gensort -a line (CR LF
 * already cut off by the reader) is a 10-byte key and a 88-byte value; the
 * identity reduce writes them back in key order, and total order makes the
 * part files, read in order, one sorted file. An output line is
 * key TAB value, so record = line without its TAB, plus CR LF.
 */
import { defineJob } from '../../src/api/job.js';

export default defineJob<string>({
  totalOrder: true,
  map(line, emit) {
    if (line.length > 0) emit(line.slice(0, 10), line.slice(10));
  },
  reduce(key, values, emit) {
    for (const v of values) emit(key, v);
  },
});
