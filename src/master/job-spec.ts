/**
 * A submitted job's settings, validated once into a complete, readonly spec
 * with every default filled. Zero in a numeric field of the wire request
 * means "not given".
 */
import { isStorePath } from '../storage/store-path.js';
import { isDatasetInput, parseDatasetInput, type DatasetCut } from '../common/dataset-input.js';
import { FILE_INPUT_FORMATS, isFileInputFormat, type InputFormat } from '../common/input-format.js';
import { JOB_DEFAULTS } from '../common/defaults.js';
import { describe, LaminateError } from '../common/errors.js';
import { requirePositiveInt } from '../common/validate.js';
import type { SubmitJobRequest } from '../protocol/messages.js';

export { JOB_DEFAULTS };

export const MAX_REDUCERS = 10_000;

/** The longest --task-timeout: setTimeout's limit (2^31 - 1 ms, about 24.8 days); longer delays fire at once. */
export const MAX_TASK_TIMEOUT_MS = 2_147_483_647;

export interface ResolvedJobSpec {
  readonly name: string;
  /** Absolute paths, or dataset inputs (`dataset:NAME[@CUT]`) as given: never both. */
  readonly inputs: readonly string[];
  /**
   * Dataset inputs: the cut read of each, in input order, fixed by the
   * master at submission (see job-inputs.ts) and journaled with the spec, so
   * that a restarted master reads the same records. Empty for file inputs.
   */
  readonly cuts: readonly DatasetCut[];
  readonly outputDir: string;
  readonly reducers: number;
  readonly format: InputFormat;
  readonly splitSize: number;
  readonly speculation: boolean;
  readonly mapMemoryMb: number;
  readonly reduceMemoryMb: number;
  readonly taskTimeoutMs: number;
  readonly sortBufferBytes: number;
  /** Total order only: reducers - 1 sorted keys; empty for hash partitioning. */
  readonly splitPoints: readonly string[];
  /**
   * An incremental view build: the folder of the earlier version's view
   * files (part-NNNNN, one per reducer) that each reducer merges with what it
   * reduces. The job's reducers must write view files.
   */
  readonly mergeBase?: string;
}

/** A wire field where 0 means "not given": the default then, else a checked positive integer. */
function positiveInt(flag: string, value: number, dflt: number | undefined, max = Number.MAX_SAFE_INTEGER): number {
  if (value === 0 && dflt !== undefined) return dflt;
  return requirePositiveInt(flag, value, max);
}

/**
 * The format of a job's inputs: `dataset` when every input is a dataset
 * (then --format must be absent or 'dataset'), else the --format of its
 * files (default text). Inputs of both kinds in one job are refused: a
 * dataset's records and a file's lines are different things to a map, and
 * a job reads one kind (run one job per kind to combine them).
 */
function inputFormat(req: SubmitJobRequest): InputFormat {
  const datasets = req.inputs.filter(isDatasetInput);
  if (datasets.length === 0) {
    const format = req.format === '' ? 'text' : req.format;
    if (!isFileInputFormat(format)) {
      const hint = format === 'dataset' ? ' (the dataset format is for dataset inputs, --input dataset:NAME)' : '';
      throw new LaminateError('INVALID_ARGUMENT', `Expected --format to be ${FILE_INPUT_FORMATS.join(', ')}, got ${describe(req.format)}${hint}`);
    }
    return format;
  }
  if (datasets.length < req.inputs.length) {
    const file = req.inputs.find((i) => !isDatasetInput(i))!;
    throw new LaminateError('INVALID_ARGUMENT', `Expected every --input to be a dataset (dataset:NAME[@CUT]) or every one a path, got both: ${describe(datasets[0])} and ${describe(file)}`);
  }
  if (req.format !== '' && req.format !== 'dataset') {
    throw new LaminateError('INVALID_ARGUMENT', `Expected no --format with dataset inputs (their records are the JSON values appended), got ${describe(req.format)}`);
  }
  const seen = new Set<string>();
  for (const input of req.inputs) {
    const { dataset } = parseDatasetInput(input);
    if (seen.has(dataset)) throw new LaminateError('INVALID_ARGUMENT', `Expected each dataset once among the inputs, got '${dataset}' twice`, { ids: { dataset } });
    seen.add(dataset);
  }
  return 'dataset';
}

export function resolveJobSpec(req: SubmitJobRequest, compareKeys: (a: string, b: string) => number): ResolvedJobSpec {
  if (!Array.isArray(req.inputs) || req.inputs.length === 0) {
    throw new LaminateError('INVALID_ARGUMENT', 'Expected at least one --input path, got none');
  }
  for (const p of req.inputs) {
    if (typeof p !== 'string') throw new LaminateError('INVALID_ARGUMENT', `Expected --input paths, got ${describe(p)}`);
  }
  const format = inputFormat(req);
  for (const p of format === 'dataset' ? [req.outputDir] : [...req.inputs, req.outputDir]) {
    if (typeof p !== 'string' || !isStorePath(p)) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected absolute input and output paths (or s3:// URLs), got ${describe(p)}`);
    }
  }
  const reducers = positiveInt('--reducers', req.reducers, undefined, MAX_REDUCERS);
  const mapMemoryMb = positiveInt('--map-memory', req.mapMemoryMb, JOB_DEFAULTS.mapMemoryMb);
  const taskTimeoutMs = positiveInt('--task-timeout', req.taskTimeoutMs, JOB_DEFAULTS.taskTimeoutMs);
  if (taskTimeoutMs > MAX_TASK_TIMEOUT_MS) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected --task-timeout to be at most ${MAX_TASK_TIMEOUT_MS} ms, got ${taskTimeoutMs}`);
  }
  const splitPoints = req.splitPoints ?? [];
  if (splitPoints.length > 0) {
    if (splitPoints.length !== reducers - 1) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected ${reducers - 1} total-order split points for ${reducers} reducers, got ${splitPoints.length}`);
    }
    for (let i = 1; i < splitPoints.length; i++) {
      if (compareKeys(splitPoints[i - 1]!, splitPoints[i]!) > 0) {
        throw new LaminateError('INVALID_ARGUMENT', `Expected total-order split points in ascending order, got '${splitPoints[i - 1]}' before '${splitPoints[i]}'`);
      }
    }
  }
  return {
    name: req.name || 'job',
    inputs: [...req.inputs],
    cuts: [],
    outputDir: req.outputDir,
    reducers,
    format,
    splitSize: positiveInt('--split-size', req.splitSize, JOB_DEFAULTS.splitSize),
    speculation: req.speculation,
    mapMemoryMb,
    reduceMemoryMb: positiveInt('--reduce-memory', req.reduceMemoryMb, JOB_DEFAULTS.reduceMemoryMb),
    taskTimeoutMs,
    sortBufferBytes: Math.floor(mapMemoryMb * 1024 * 1024 * JOB_DEFAULTS.sortBufferFraction),
    splitPoints,
    ...(req.mergeBase ? { mergeBase: absolute('--merge-base', req.mergeBase) } : {}),
  };
}

function absolute(flag: string, path: string): string {
  if (!isStorePath(path)) throw new LaminateError('INVALID_ARGUMENT', `Expected ${flag} to be an absolute path or an s3:// URL, got ${describe(path)}`);
  return path;
}
