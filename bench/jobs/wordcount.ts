/**
 * The word count benchmark's Laminate job: map tokenizes a line with the
 * floor's tokenizer and emits (word, 1); the combiner and reduce sum.
 */
import { defineJob, type Emit } from '../../src/api/job.js';
import { forEachWord } from './tokenizer.js';

function sum(word: string, counts: unknown[], emit: Emit): void {
  let n = 0;
  for (const c of counts) n += c as number;
  emit(word, n);
}

export default defineJob<string>({
  map(line, emit) {
    forEachWord(line, (word) => emit(word, 1));
  },
  combine: sum,
  reduce: sum,
});
