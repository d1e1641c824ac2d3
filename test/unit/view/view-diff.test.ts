import { describe, expect, it } from 'vitest';
import { diffEntries } from '../../../src/view/view-diff.js';
import type { ViewEntry } from '../../../src/view/view-file-reader.js';

/** Entries in batches of two, as a scan yields them block by block. */
async function* batches(entries: Array<[string, string]>): AsyncGenerator<ViewEntry[]> {
  for (let i = 0; i < entries.length; i += 2) yield entries.slice(i, i + 2).map(([key, v]) => ({ key, value: Buffer.from(v) }));
}

describe('the diff of two versions', () => {
  it('counts keys added, removed, changed and unchanged, and lists the first few of each in key order', async () => {
    const a: Array<[string, string]> = [['a', '1'], ['b', '2'], ['c', '3'], ['e', '5'], ['g', '7']];
    const b: Array<[string, string]> = [['b', '2'], ['c', '4'], ['d', '4'], ['e', '6'], ['f', '6'], ['h', '8']];
    expect(await diffEntries(batches(a), batches(b), 1)).toEqual({
      added: 3, removed: 2, changed: 2, unchanged: 1, addedKeys: ['d'], removedKeys: ['a'], changedKeys: ['c'],
    });
    expect(await diffEntries(batches([]), batches(b), 10)).toMatchObject({ added: 6, removed: 0, changed: 0, unchanged: 0, addedKeys: ['b', 'c', 'd', 'e', 'f', 'h'] });
    expect(await diffEntries(batches(a), batches(a), 10)).toMatchObject({ added: 0, removed: 0, changed: 0, unchanged: 5 });
  });
});
