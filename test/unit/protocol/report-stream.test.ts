/**
 * Invocation reports on the worker's report stream (StreamInvocationReports)
 * against a real Master server on 127.0.0.1: each report reaches the
 * handler as sent and is acknowledged, a refused one rejects with the
 * master's code, and a stream that breaks rejects what waits on it
 * (UNAVAILABLE) so the worker sends it again, on a new stream.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import type { InvocationReport } from '../../../src/common/function-shapes.js';
import { MasterClient, serveMaster, type BoundServer, type MasterHandlers } from '../../../src/protocol/master-rpc.js';

function report(requestId: string): InvocationReport {
  return {
    requestId, workerId: 'worker-0001', containerId: 'fc1-1', outcome: { ok: true, result: Buffer.from([0x92, 1, 2]) }, durationMs: 1.5,
    coldStart: false, initMs: 0, containerGone: false, logs: [{ at: 7, level: 'info', message: `line of ${requestId}` }], maxMemoryUsedMb: 40,
  };
}

/** A master that only takes invocation reports: `take` decides each one's fate. */
async function master(take: (r: InvocationReport) => Promise<void> | void, port = 0): Promise<BoundServer> {
  const handlers = { reportInvocation: take } as Partial<MasterHandlers> as MasterHandlers;
  return serveMaster(handlers, '127.0.0.1', port);
}

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

describe('the invocation report stream', () => {
  it('delivers each report unchanged, acknowledging it; a refused report rejects with the master\'s code', async () => {
    const got: InvocationReport[] = [];
    const server = await master((r) => {
      if (r.requestId === 'bad') throw new LaminateError('INVALID_ARGUMENT', 'Invocation bad runs elsewhere');
      got.push(r);
    });
    open.push(server);
    const client = new MasterClient(`127.0.0.1:${server.port}`);
    open.push(client);
    const sent = Array.from({ length: 20 }, (_, i) => report(`r-${i}`));
    await Promise.all(sent.map((r) => client.reportInvocation(r)));
    expect(got.sort((a, b) => Number(a.requestId.slice(2)) - Number(b.requestId.slice(2)))).toEqual(sent);
    await expect(client.reportInvocation(report('bad'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'Invocation bad runs elsewhere' });
    // The stream outlives a refusal.
    await client.reportInvocation(report('after'));
    expect(got.at(-1)!.requestId).toBe('after');
  });

  it('rejects a report waiting on a stream that breaks (UNAVAILABLE); sent again, it reaches the next master on a new stream', async () => {
    let arrived!: () => void;
    const waiting = new Promise<void>((r) => { arrived = r; });
    const first = await master(() => {
      arrived();
      return new Promise<void>(() => {}); // never acknowledged
    });
    const port = first.port;
    const client = new MasterClient(`127.0.0.1:${port}`);
    open.push(client);
    const pending = client.reportInvocation(report('r-1'));
    await waiting;
    const rejected = expect(pending).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await first.close(0);
    await rejected;
    const got: string[] = [];
    const second = await master((r) => { got.push(r.requestId); }, port);
    open.push(second);
    await client.reportInvocation(report('r-1'));
    expect(got).toEqual(['r-1']);
  });
});
