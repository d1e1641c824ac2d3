/** The `text` input format: one record per line, without its line ending. */
import { readSplitLines } from '../line-reader.js';
import { listFileSplits } from './file-splits.js';
import { fileSplitOf, type InputFormatPort } from './input-format.js';

export const textFormat: InputFormatPort = {
  name: 'text',
  listSplits: (inputs, splitSize) => listFileSplits(inputs, splitSize, 'text'),
  async read(split, context, onRecord) {
    const s = fileSplitOf(split, 'text');
    const ctx = context({ kind: 'file', path: s.path });
    // The hot loop of most jobs: readSplitLines delivers a region of lines
    // synchronously and awaits only what onRecord returns as a thenable.
    await readSplitLines(s, (line) => onRecord(line, ctx));
  },
};
