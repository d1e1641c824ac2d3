/**
 * A submitted job's settings, validated once into a complete, readonly spec
 * with every default filled. Zero in a numeric field of the wire request
 * means "not given".
 */
import { isAbsolute } from 'node:path';
import type { InputFormat } from '../common/input-format.js';
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
  readonly inputs: readonly string[];
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
}

/** A wire field where 0 means "not given": the default then, else a checked positive integer. */
function positiveInt(flag: string, value: number, dflt: number | undefined, max = Number.MAX_SAFE_INTEGER): number {
  if (value === 0 && dflt !== undefined) return dflt;
  return requirePositiveInt(flag, value, max);
}

export function resolveJobSpec(req: SubmitJobRequest, compareKeys: (a: string, b: string) => number): ResolvedJobSpec {
  const format = req.format === '' ? 'text' : req.format;
  if (format !== 'text' && format !== 'whole' && format !== 'jsonl') {
    throw new LaminateError('INVALID_ARGUMENT', `Expected --format to be text, whole or jsonl, got ${describe(req.format)}`);
  }
  if (!Array.isArray(req.inputs) || req.inputs.length === 0) {
    throw new LaminateError('INVALID_ARGUMENT', 'Expected at least one --input path, got none');
  }
  for (const p of [...req.inputs, req.outputDir]) {
    if (typeof p !== 'string' || !isAbsolute(p)) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected absolute input and output paths, got ${describe(p)}`);
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
  };
}
