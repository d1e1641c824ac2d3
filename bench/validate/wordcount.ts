/**
 * Reads the three word count outputs into word -> count maps and compares
 * them: the floor's and Laminate's `word<TAB>count` lines, uniq -c's
 * `<spaces>count word` lines.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { forEachLine } from './lines.js';

export type Counts = Map<string, number>;

function add(counts: Counts, word: string, n: number, where: string): void {
  if (word === '') return; // tr emits an empty line when the text starts with a non-letter
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`bad count for '${word}' in ${where}`);
  if (counts.has(word)) throw new Error(`word '${word}' appears twice in ${where}`);
  counts.set(word, n);
}

/** `word<TAB>count` lines of one file, or of a folder's part-* files. */
export function readTabCounts(path: string, isDir = false): Counts {
  const counts: Counts = new Map();
  const files = isDir ? readdirSync(path).filter((f) => f.startsWith('part-')).sort().map((f) => join(path, f)) : [path];
  for (const file of files) {
    forEachLine(file, (buf, start, end) => {
      if (end === start) return;
      const tab = buf.lastIndexOf(9, end - 1);
      if (tab < start) throw new Error(`no TAB in a line of ${file}`);
      add(counts, buf.toString('latin1', start, tab), Number(buf.toString('latin1', tab + 1, end)), file);
    });
  }
  return counts;
}

/** `uniq -c` output. */
export function readUniqCounts(path: string): Counts {
  const counts: Counts = new Map();
  forEachLine(path, (buf, start, end) => {
    const m = /^\s*(\d+) (.*)$/.exec(buf.toString('latin1', start, end));
    if (!m) throw new Error(`unexpected uniq -c line in ${path}`);
    add(counts, m[2]!, Number(m[1]), path);
  });
  return counts;
}

/** null when equal, else the first difference found. */
export function compareCounts(a: Counts, b: Counts, aName: string, bName: string): string | null {
  if (a.size !== b.size) {
    for (const w of a.keys()) if (!b.has(w)) return `${a.size} words in ${aName}, ${b.size} in ${bName}; '${w}' only in ${aName}`;
    for (const w of b.keys()) if (!a.has(w)) return `${a.size} words in ${aName}, ${b.size} in ${bName}; '${w}' only in ${bName}`;
  }
  for (const [w, n] of a) {
    const m = b.get(w);
    if (m !== n) return `'${w}': ${n} in ${aName}, ${m ?? 'none'} in ${bName}`;
  }
  return null;
}

/** Total words counted. */
export function totalWords(c: Counts): number {
  let n = 0;
  for (const v of c.values()) n += v;
  return n;
}
