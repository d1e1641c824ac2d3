/**
 * The `jsonl` input format: one JSON value per line, blank lines skipped; a
 * malformed line fails the read, naming its file and line.
 */
import { jsonlError, MalformedJsonLine, parseJsonLine } from '../jsonl.js';
import { readSplitLines } from '../line-reader.js';
import { listFileSplits } from './file-splits.js';
import { fileSplitOf, type InputFormatPort } from './input-format.js';

export const jsonlFormat: InputFormatPort = {
  name: 'jsonl',
  listSplits: (inputs, splitSize) => listFileSplits(inputs, splitSize, 'jsonl'),
  async read(split, context, onRecord) {
    const s = fileSplitOf(split, 'jsonl');
    const ctx = context({ kind: 'file', path: s.path });
    try {
      await readSplitLines(s, (line, lineIndex) => {
        const record = parseJsonLine(line, lineIndex);
        return record === undefined ? undefined : onRecord(record, ctx);
      });
    } catch (err) {
      if (err instanceof MalformedJsonLine) throw await jsonlError(s, err);
      throw err;
    }
  },
};
