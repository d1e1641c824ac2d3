import { describe, expect, it } from 'vitest';
import type { InvocationReport } from '../../../src/common/function-shapes.js';
import type { WorkerCommand } from '../../../src/common/task-attempt.js';
import { services } from '../../../src/protocol/load.js';
import type * as M from '../../../src/protocol/messages.js';
import { fromWireCommand, fromWireInvocationReport, toWireCommand, toWireInvocationReport } from '../../../src/protocol/wire-mapping.js';

/** Through protobuf bytes, as grpc-js sends it. */
function viaBytes<T>(method: { requestSerialize?: (v: T) => Buffer; requestDeserialize?: (b: Buffer) => T; responseSerialize?: (v: T) => Buffer; responseDeserialize?: (b: Buffer) => T }, v: T, side: 'request' | 'response'): T {
  return side === 'request' ? method.requestDeserialize!(method.requestSerialize!(v)) : method.responseDeserialize!(method.responseSerialize!(v));
}

describe('the functions wire', () => {
  it('carries invoke and stop-container commands through protobuf and back unchanged', () => {
    const attach = (services().master as unknown as Record<string, never>).Attach!;
    const commands: WorkerCommand[] = [
      {
        type: 'invoke',
        invoke: {
          requestId: 'r-1', eventId: 'e-1', function: 'alerts', version: 3, codeSha256: 'ab'.repeat(32), containerId: 'fc1-7', memoryMb: 256, timeoutMs: 3000,
          payload: Buffer.from([1, 2, 3]), env: { KEY: 'value', OTHER: '' }, deadline: 1_764_600_000_123,
        },
      },
      { type: 'stopContainer', containerId: 'fc1-7', reason: 'idle for 300000 ms' },
    ];
    for (const c of commands) expect(fromWireCommand(viaBytes<M.WorkerCommand>(attach, toWireCommand(c), 'response'))).toEqual(c);
  });

  it('carries invocation reports through protobuf and back; an unknown code becomes HANDLER_ERROR naming it', () => {
    const method = (services().master as unknown as Record<string, never>).ReportInvocation!;
    const ok: InvocationReport = {
      requestId: 'r-1', workerId: 'worker-0001', containerId: 'fc1-7', outcome: { ok: true, result: Buffer.from([0x92, 1, 2]) }, durationMs: 12.5,
      coldStart: true, initMs: 41.25, containerGone: false, logs: [{ at: 5, level: 'warn', message: 'careful' }], maxMemoryUsedMb: 61,
    };
    const failed: InvocationReport = { ...ok, outcome: { ok: false, code: 'OUT_OF_MEMORY', message: 'heap limit 128 MB' }, containerGone: true, logs: [] };
    for (const r of [ok, failed]) expect(fromWireInvocationReport(viaBytes<M.InvocationReport>(method, toWireInvocationReport(r), 'request'))).toEqual(r);
    const odd = fromWireInvocationReport({ ...toWireInvocationReport(failed), errorCode: 'SEGFAULT', logs: [{ at: 1, level: 'debug', message: 'x' }] });
    expect(odd.outcome).toEqual({ ok: false, code: 'HANDLER_ERROR', message: 'SEGFAULT: heap limit 128 MB' });
    expect(odd.logs[0]!.level).toBe('info');
  });
});
