/**
 * The one tokenizer of the word count benchmark, shared by the single-process
 * floor and the Laminate job: a word is a maximal run of ASCII letters
 * (A-Z, a-z), case kept, as `tr -cs 'A-Za-z' '\n'` cuts it.
 */

/** Calls onWord for every word of text, in order. */
export function forEachWord(text: string, onWord: (word: string) => void): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    let c = text.charCodeAt(i);
    // (c | 32) folds A-Z onto a-z; the unsigned compare tests a..z in one step.
    while (((c | 32) - 97) >>> 0 >= 26) {
      if (++i >= n) return;
      c = text.charCodeAt(i);
    }
    const start = i;
    do c = text.charCodeAt(++i); while (i < n && ((c | 32) - 97) >>> 0 < 26);
    onWord(text.slice(start, i));
  }
}
