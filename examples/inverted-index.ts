/**
 * Inverted index: for each word, the files it occurs in, sorted, each once.
 * A word is a maximal run of ASCII letters, lower-cased.
 */
import { basename } from 'node:path';
import { defineJob } from '../src/api/job.js';

const WORD = /[A-Za-z]+/g;

function union(lists: unknown[]): string[] {
  const set = new Set<string>();
  for (const l of lists) for (const f of l as string[]) set.add(f);
  return [...set].sort();
}

export default defineJob<string>({
  map(line, emit, ctx) {
    const file = basename(ctx.path);
    const seen = new Set<string>();
    for (const m of line.matchAll(WORD)) {
      const w = m[0].toLowerCase();
      if (!seen.has(w)) {
        seen.add(w);
        emit(w, [file]);
      }
    }
  },
  combine(word, lists, emit) {
    emit(word, union(lists));
  },
  reduce(word, lists, emit) {
    emit(word, union(lists));
  },
});
