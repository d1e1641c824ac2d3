/**
 * Invocation reports on the worker's report stream (StreamInvocationReports)
 * against a real Master server on 127.0.0.1: each report reaches the
 * handler as sent and is acknowledged, a refused one rejects with the
 * master's code, and a stream that breaks rejects what waits on it
 * (UNAVAILABLE) so the worker sends it again, on a new stream. The master
 * gathers acknowledgements into fewer messages than reports, each id
 * acknowledged once; a master acknowledging one report per message (older)
 * is still understood.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import type { InvocationReport } from '../../../src/common/function-shapes.js';
import { newServer } from '../../../src/protocol/flow-control.js';
import { CHANNEL_OPTIONS, services } from '../../../src/protocol/load.js';
import { bindServer, MasterClient, serveMaster, type BoundServer, type MasterHandlers } from '../../../src/protocol/master-rpc.js';
import type * as M from '../../../src/protocol/messages.js';
import { ReportStream, reportStreamHandler } from '../../../src/protocol/report-stream.js';

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

type Call = grpc.ClientDuplexStream<M.InvocationReport, M.InvocationReportAck>;

function wireReport(requestId: string): M.InvocationReport {
  return {
    requestId, workerId: 'w-1', containerId: 'c-1', ok: true, result: Buffer.from([1]), errorCode: '', errorMessage: '', durationMs: 1, coldStart: false,
    initMs: 0, containerGone: false, logs: [], maxMemoryUsedMb: 10,
  };
}

/** A server with `impl` as StreamInvocationReports; the worker's ReportStream to it, and the acknowledgement messages it received. */
async function connect(impl: grpc.handleBidiStreamingCall<M.InvocationReport, M.InvocationReportAck>): Promise<{ reports: ReportStream; acks: M.InvocationReportAck[] }> {
  const server = newServer();
  server.addService(services().master, { streamInvocationReports: impl } as grpc.UntypedServiceImplementation);
  const s = await bindServer(server, '127.0.0.1', 0);
  open.push({ close: () => s.close(0) });
  const client = new (services().masterCtor)(`127.0.0.1:${s.port}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  const acks: M.InvocationReportAck[] = [];
  const reports = new ReportStream(() => {
    const call = (client as unknown as { streamInvocationReports(): Call }).streamInvocationReports();
    call.on('data', (ack: M.InvocationReportAck) => acks.push(ack));
    return call;
  }, 'test master');
  open.push({ close: () => { reports.close(); client.close(); } });
  return { reports, acks };
}

describe('acknowledgements', () => {
  it('acknowledges every report taken, several in one message, and a refused one alone with its code', async () => {
    const handled: string[] = [];
    const { reports, acks } = await connect(reportStreamHandler(async (r) => {
      handled.push(r.requestId);
      if (r.requestId === 'r-13') throw new LaminateError('INVALID_ARGUMENT', 'Invocation r-13 runs elsewhere');
    }, new Set()));
    const ids = Array.from({ length: 40 }, (_, i) => `r-${i}`);
    const settled = await Promise.allSettled(ids.map((id) => reports.send(wireReport(id))));
    settled.forEach((s, i) => {
      if (ids[i] === 'r-13') expect((s as PromiseRejectedResult).reason).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'Invocation r-13 runs elsewhere' });
      else expect(s.status).toBe('fulfilled');
    });
    expect([...handled].sort()).toEqual([...ids].sort());
    // Each id acknowledged exactly once across the messages, the refusal in a message of its own.
    const acked = acks.flatMap((a) => [a.requestId, ...(a.moreRequestIds ?? [])]);
    expect([...acked].sort()).toEqual([...ids].sort());
    expect(acks.filter((a) => a.errorCode !== '')).toEqual([{ requestId: 'r-13', errorCode: 'INVALID_ARGUMENT', errorMessage: 'Invocation r-13 runs elsewhere', moreRequestIds: [] }]);
    expect(acks.length).toBeLessThan(ids.length / 2);
    // The stream goes on: a later report is acknowledged too.
    await expect(reports.send(wireReport('r-later'))).resolves.toBeUndefined();
  });

  it('understands a master that acknowledges one report per message', async () => {
    const { reports } = await connect((call) => {
      call.on('data', (r: M.InvocationReport) => call.write({ requestId: r.requestId, errorCode: r.requestId === 'bad' ? 'NOT_FOUND' : '', errorMessage: 'no such attempt' }));
      call.on('end', () => call.end());
    });
    await expect(reports.send(wireReport('one'))).resolves.toBeUndefined();
    await expect(reports.send(wireReport('bad'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(reports.send(wireReport('two'))).resolves.toBeUndefined();
  });
});
