import { describe, expect, it } from 'vitest';
import { JOB_DEFAULTS, MAX_TASK_TIMEOUT_MS, resolveJobSpec } from '../../../src/master/job-spec.js';
import type { SubmitJobRequest } from '../../../src/protocol/messages.js';
import { throwsWith } from '../storage/helpers.js';

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function request(over: Partial<SubmitJobRequest> = {}): SubmitJobRequest {
  return {
    name: 'wc', bundle: Buffer.alloc(0), inputs: ['/in'], outputDir: '/out', reducers: 2, format: '',
    splitSize: 0, speculation: false, mapMemoryMb: 0, reduceMemoryMb: 0, taskTimeoutMs: 0, splitPoints: [],
    ...over,
  };
}

describe('resolveJobSpec', () => {
  it('fills defaults for fields left at zero', () => {
    const spec = resolveJobSpec(request(), compare);
    expect(spec.taskTimeoutMs).toBe(JOB_DEFAULTS.taskTimeoutMs);
    expect(spec.splitSize).toBe(JOB_DEFAULTS.splitSize);
    expect(spec.format).toBe('text');
  });

  it('accepts a task timeout up to setTimeout\'s limit', () => {
    expect(MAX_TASK_TIMEOUT_MS).toBe(2_147_483_647);
    expect(resolveJobSpec(request({ taskTimeoutMs: 2_147_483_647 }), compare).taskTimeoutMs).toBe(2_147_483_647);
    expect(resolveJobSpec(request({ taskTimeoutMs: 1 }), compare).taskTimeoutMs).toBe(1);
  });

  it('refuses a task timeout past setTimeout\'s limit', () => {
    throwsWith(
      () => resolveJobSpec(request({ taskTimeoutMs: 2_147_483_648 }), compare),
      'INVALID_ARGUMENT',
      /^Expected --task-timeout to be at most 2147483647 ms, got 2147483648$/,
    );
    throwsWith(() => resolveJobSpec(request({ taskTimeoutMs: 30 * 24 * 3600 * 1000 }), compare), 'INVALID_ARGUMENT', /at most 2147483647 ms/);
    throwsWith(() => resolveJobSpec(request({ taskTimeoutMs: -5 }), compare), 'INVALID_ARGUMENT', /Expected --task-timeout to be a positive integer/);
  });

  it('reads dataset inputs as the dataset format, with the cuts left for the master to take', () => {
    const spec = resolveJobSpec(request({ inputs: ['dataset:clicks', 'dataset:views@3,4'] }), compare);
    expect(spec.format).toBe('dataset');
    expect(spec.inputs).toEqual(['dataset:clicks', 'dataset:views@3,4']);
    expect(spec.cuts).toEqual([]);
    expect(resolveJobSpec(request({ inputs: ['dataset:clicks'], format: 'dataset' }), compare).format).toBe('dataset');
  });

  it('refuses dataset and file inputs in one job, a --format with datasets, the dataset format without them, and a dataset twice', () => {
    throwsWith(() => resolveJobSpec(request({ inputs: ['dataset:clicks', '/in/a.txt'] }), compare), 'INVALID_ARGUMENT',
      /^Expected every --input to be a dataset \(dataset:NAME\[@CUT\]\) or every one a path, got both: 'dataset:clicks' and '\/in\/a.txt'$/);
    throwsWith(() => resolveJobSpec(request({ inputs: ['dataset:clicks'], format: 'jsonl' }), compare), 'INVALID_ARGUMENT', /^Expected no --format with dataset inputs .*, got 'jsonl'$/);
    throwsWith(() => resolveJobSpec(request({ format: 'dataset' }), compare), 'INVALID_ARGUMENT', /Expected --format to be text, whole, jsonl, got 'dataset' \(the dataset format is for dataset inputs/);
    throwsWith(() => resolveJobSpec(request({ inputs: ['dataset:a@1', 'dataset:a@2'] }), compare), 'INVALID_ARGUMENT', /^Expected each dataset once among the inputs, got 'a' twice$/);
    throwsWith(() => resolveJobSpec(request({ inputs: ['dataset:a@x'] }), compare), 'INVALID_ARGUMENT', /Expected offset 0 of the cut in --input 'dataset:a@x'/);
    throwsWith(() => resolveJobSpec(request({ inputs: ['relative/path'] }), compare), 'INVALID_ARGUMENT', /Expected absolute input and output paths \(or s3:\/\/ URLs\), got 'relative\/path'/);
  });
});
