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
});
