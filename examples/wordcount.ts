/**
 * Word count: how often each word occurs. A word is a maximal run of ASCII
 * letters, lower-cased. The combiner sums counts on the map side, so only
 * one pair per word per map task crosses the shuffle.
 *
 *   laminate submit --master 127.0.0.1:7070 --job examples/wordcount.ts \
 *     --input data/gutenberg --output /tmp/wc --reducers 2 --wait
 */
import { defineJob } from '../src/api/job.js';

const WORD = /[A-Za-z]+/g;

export default defineJob<string>({
  map(line, emit) {
    for (const m of line.matchAll(WORD)) emit(m[0].toLowerCase(), 1);
  },
  combine(word, counts, emit) {
    let sum = 0;
    for (const c of counts) sum += c as number;
    emit(word, sum);
  },
  reduce(word, counts, emit) {
    let sum = 0;
    for (const c of counts) sum += c as number;
    emit(word, sum);
  },
});
