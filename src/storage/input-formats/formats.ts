/** Picks the input format port of a job's format: the one place that maps a format's name to its implementation. */
import { LaminateError } from '../../common/errors.js';
import type { InputFormat } from '../../common/input-format.js';
import { datasetFormat, type DatasetAccess } from './dataset.js';
import type { InputFormatPort } from './input-format.js';
import { jsonlFormat } from './jsonl.js';
import { textFormat } from './text.js';
import { wholeFormat } from './whole.js';

/** What the formats may need from the process using them. */
export interface InputFormatDeps {
  /** How this process reaches datasets; needed by the dataset format only. */
  readonly datasets?: DatasetAccess;
}

/**
 * The port of `format`. Cheap (the file formats are constants); called once
 * per job by the master, once per map attempt by the map runner.
 *
 * @throws LaminateError FAILED_PRECONDITION for the dataset format without
 *   `deps.datasets`; INVALID_ARGUMENT for a format Laminate does not know.
 */
export function inputFormatFor(format: InputFormat, deps: InputFormatDeps = {}): InputFormatPort {
  switch (format) {
    case 'text': return textFormat;
    case 'whole': return wholeFormat;
    case 'jsonl': return jsonlFormat;
    case 'dataset':
      if (!deps.datasets) throw new LaminateError('FAILED_PRECONDITION', 'Expected a way to reach datasets for a dataset input, got none in this process');
      return datasetFormat(deps.datasets);
    default:
      throw new LaminateError('INVALID_ARGUMENT', `Expected an input format of text, whole, jsonl or dataset, got '${String(format)}'`);
  }
}
