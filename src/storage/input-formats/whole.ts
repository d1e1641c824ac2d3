/** The `whole` input format: one record per file, its whole contents as UTF-8. */
import { isThenable } from '../../common/thenable.js';
import { readWholeFile } from '../line-reader.js';
import { listFileSplits } from './file-splits.js';
import { fileSplitOf, type InputFormatPort } from './input-format.js';

export const wholeFormat: InputFormatPort = {
  name: 'whole',
  listSplits: (inputs, splitSize) => listFileSplits(inputs, splitSize, 'whole'),
  async read(split, context, onRecord) {
    const s = fileSplitOf(split, 'whole');
    const r = onRecord(await readWholeFile(s.path), context({ kind: 'file', path: s.path }));
    if (isThenable(r)) await r;
  },
};
