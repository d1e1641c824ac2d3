/**
 * A worker process's function commands over the real wire, against a fake
 * master: `invoke` runs the function and its report goes through the link,
 * heartbeats list the live containers, `stopContainer` stops one. Needs
 * `npm run build` (the container's entry is compiled under dist/).
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { pack, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { FunctionInvocationReport } from '../../../src/common/function-invocation.js';
import type { InvokeCommand } from '../../../src/common/function-shapes.js';
import { LaminateError } from '../../../src/common/errors.js';
import { silentLogger } from '../../../src/common/logger.js';
import { serveMaster, type CommandChannel, type MasterHandlers } from '../../../src/protocol/master-rpc.js';
import type { FunctionCodeEnvelope } from '../../../src/worker/function-code-cache.js';
import type { WorkerFunctionLink } from '../../../src/worker/function-host.js';
import { WorkerNode } from '../../../src/worker/worker.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const CODE = "export default { kind: 'laminate-function', handler: (event, ctx) => ({ sum: event.a + event.b, requestId: ctx.requestId }) };";

function envelope(code: string): FunctionCodeEnvelope {
  const dataKey = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
  const ciphertext = Buffer.concat([cipher.update(code), cipher.final()]);
  return { ciphertext, iv, authTag: cipher.getAuthTag(), dataKey, codeSha256: createHash('sha256').update(code).digest('hex') };
}

/** Resolves with the first value `pred` accepts among those pushed. */
class Waiter<T> {
  private readonly waiting: Array<{ pred: (v: T) => boolean; resolve: (v: T) => void }> = [];
  push(v: T): void {
    for (const w of this.waiting.filter((x) => x.pred(v))) {
      this.waiting.splice(this.waiting.indexOf(w), 1);
      w.resolve(v);
    }
  }
  next(pred: (v: T) => boolean): Promise<T> {
    return new Promise((resolve) => this.waiting.push({ pred, resolve }));
  }
}

describe('a worker\'s function commands', () => {
  const tempDir = useTempDirs();

  it('runs an invoke command and reports it, lists the container in heartbeats, and stops it on stopContainer', async () => {
    const code = envelope(CODE);
    const heartbeats = new Waiter<string[]>();
    const reports = new Waiter<FunctionInvocationReport>();
    let channel: CommandChannel | undefined;
    const attached = new Waiter<CommandChannel>();
    const unused = (): never => { throw new LaminateError('FAILED_PRECONDITION', 'not in this test'); };
    const handlers: MasterHandlers = {
      registerWorker: () => ({ workerId: 'worker-0007', heartbeatIntervalMs: 50 }),
      heartbeat: (req) => { heartbeats.push(req.functionContainerIds); return { reregister: false }; },
      leave: () => {},
      attach: (_req, ch) => { channel = ch; attached.push(ch); },
      reportAttempt: unused, getBundle: unused, submitJob: unused, getJob: unused, waitJob: unused, listJobs: unused, killJob: unused, listWorkers: unused,
      reportInvocation: unused, getFunctionCode: unused,
    };
    const master = await serveMaster(handlers, '127.0.0.1', 0);
    const link: WorkerFunctionLink = {
      getFunctionCode: () => Promise.resolve(code),
      appendToDataset: () => Promise.resolve(),
      reportInvocation: (r) => { reports.push(r); return Promise.resolve(); },
    };
    const gotAttach = attached.next(() => true);
    const worker = new WorkerNode({ master: `127.0.0.1:${master.port}`, dataDir: await tempDir(), logger: silentLogger(), functionLink: link, warmUp: false });
    try {
      await worker.start();
      await gotAttach;
      const invoke: InvokeCommand = {
        requestId: 'req-1', eventId: 'ev-1', function: 'adder', version: 3, codeSha256: code.codeSha256, containerId: 'ctr-1',
        memoryMb: 128, timeoutMs: 5_000, payload: pack({ a: 2, b: 40 }), env: { K: 'v' }, deadline: Date.now() + 5_000,
      };
      const reported = reports.next((r) => r.requestId === 'req-1');
      channel!.send({ type: 'invoke', invoke });
      const report = await reported;
      expect(report).toMatchObject({ ok: true, workerId: 'worker-0007', containerId: 'ctr-1', coldStart: true, containerGone: false });
      expect(unpack(report.result)).toEqual({ sum: 42, requestId: 'req-1' });

      await heartbeats.next((ids) => ids.includes('ctr-1'));
      channel!.send({ type: 'stopContainer', containerId: 'ctr-1', reason: 'idle' });
      await heartbeats.next((ids) => !ids.includes('ctr-1'));
    } finally {
      await worker.stop();
      await master.close(100);
    }
  });
});
