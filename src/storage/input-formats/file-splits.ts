/** The splits of file inputs, shared by the file formats (text, whole, jsonl). */
import { LaminateError } from '../../common/errors.js';
import type { FileInputFormat } from '../../common/input-format.js';
import type { FileSplit } from '../../common/input-split.js';
import { listInputFiles } from '../input-files.js';
import { computeSplits } from '../input-split.js';
import type { JobInputs } from './input-format.js';

/**
 * Lists the files of `inputs` (input-files.ts) and cuts them into splits
 * (input-split.ts). INVALID_ARGUMENT for dataset inputs.
 */
export async function listFileSplits(inputs: JobInputs, splitSize: number, format: FileInputFormat): Promise<FileSplit[]> {
  if (inputs.kind !== 'files') {
    throw new LaminateError('INVALID_ARGUMENT', `Expected file inputs for the ${format} input format, got datasets ${inputs.cuts.map((c) => `'${c.dataset}'`).join(', ')}`);
  }
  return computeSplits(await listInputFiles(inputs.paths), splitSize, format);
}
