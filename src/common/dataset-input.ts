/**
 * Dataset inputs of a job: `--input dataset:NAME` (every record durable when
 * the job is submitted) and `--input dataset:NAME@CUT` (exactly the records
 * before CUT, one offset per partition, comma-separated: "1200,0,310,77"),
 * and `--input dataset:NAME@FROM..CUT` (the records from FROM up to CUT: an
 * incremental view build reads those between two versions' cuts).
 * Parsed here, in common, because the client (sampling), the master
 * (resolving the cut at submit) and later layers all read this form. Pure.
 */
import { describe, LaminateError } from './errors.js';

export const DATASET_INPUT_PREFIX = 'dataset:';

/** A dataset input as written: the cut is absent for "everything durable at submission". */
export interface DatasetInputRequest {
  readonly dataset: string;
  readonly cut?: readonly number[];
  /** A range input only: where each partition's records start (absent: at 0). */
  readonly from?: readonly number[];
}

/**
 * The cut a job reads of one dataset: per partition, the offset its records
 * stop before. Recorded in the job's spec (and journal) at submission, and
 * shown in its status.
 */
export interface DatasetCut {
  readonly dataset: string;
  readonly offsets: readonly number[];
  /** A range input only: per partition, the first offset read (absent: 0). */
  readonly from?: readonly number[];
}

const OFFSET_RE = /^\d{1,16}$/;

/** Whether an --input names a dataset rather than a path. */
export function isDatasetInput(input: string): boolean {
  return input.startsWith(DATASET_INPUT_PREFIX);
}

/**
 * Parses `dataset:NAME` or `dataset:NAME@CUT`. Checks the form only (a name
 * is there; each offset a non-negative integer); whether the dataset exists
 * and the cut fits it is the master's to judge at submission.
 *
 * @throws LaminateError INVALID_ARGUMENT naming the input and the bad part.
 */
export function parseDatasetInput(input: string): DatasetInputRequest {
  if (typeof input !== 'string' || !isDatasetInput(input)) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a dataset input such as 'dataset:clicks' or 'dataset:clicks@1200,0,310,77', got ${describe(input)}`);
  }
  const rest = input.slice(DATASET_INPUT_PREFIX.length);
  const at = rest.indexOf('@');
  const dataset = at < 0 ? rest : rest.slice(0, at);
  if (dataset === '') {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a dataset name after '${DATASET_INPUT_PREFIX}' in --input '${input}', got none`);
  }
  if (at < 0) return { dataset };
  const text = rest.slice(at + 1);
  const range = text.indexOf('..');
  if (range >= 0) {
    const from = parseOffsets(input, dataset, text.slice(0, range), 'start');
    const cut = parseOffsets(input, dataset, text.slice(range + 2), 'cut');
    if (from.length !== cut.length || from.some((f, p) => f > cut[p]!)) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected the range in --input '${input}' to start at or before its end in every partition (as many offsets on each side), got ${from.join(',')}..${cut.join(',')}`, { ids: { dataset } });
    }
    return { dataset, cut, from };
  }
  return { dataset, cut: parseOffsets(input, dataset, text, 'cut') };
}

/** The offsets of a cut (or a range's start) in an --input. */
function parseOffsets(input: string, dataset: string, text: string, what: 'cut' | 'start'): number[] {
  return parseOffsetList(text, `the ${what} in --input '${input}'`, { dataset });
}

/**
 * Comma-separated offsets ("1200,0,310,77", spaces allowed around each), as
 * cuts are written everywhere (`--input`, `--cut`, status). `where` names the
 * text in the error: "offset 1 of `where`".
 *
 * @throws LaminateError INVALID_ARGUMENT naming the first bad offset.
 */
export function parseOffsetList(text: string, where: string, ids: { readonly dataset?: string } = {}): number[] {
  return text.split(',').map((part, i) => {
    const t = part.trim();
    const n = Number(t);
    if (!OFFSET_RE.test(t) || !Number.isSafeInteger(n)) {
      throw new LaminateError(
        'INVALID_ARGUMENT',
        `Expected offset ${i} of ${where} to be a non-negative integer (one offset per partition, comma-separated), got ${describe(part)}`,
        { ids },
      );
    }
    return n;
  });
}

/** The text form `dataset:NAME@O0,O1,...` of a cut: what `--input` takes to read the same records again. */
export function formatDatasetCut(cut: DatasetCut): string {
  const from = cut.from === undefined ? '' : `${cut.from.join(',')}..`;
  return `${DATASET_INPUT_PREFIX}${cut.dataset}@${from}${cut.offsets.join(',')}`;
}
