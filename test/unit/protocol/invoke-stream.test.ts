/**
 * Synchronous invocations on Functions.InvokeStream (functions-rpc.ts over
 * call-stream.ts), against a real grpc-js server on 127.0.0.1: every
 * invocation of a client rides its one stream (no unary Invoke), answers that
 * come back out of order reach their own callers, an error the master raises
 * fails its own invocation only, and a master without InvokeStream (older)
 * is called with unary Invokes instead.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import type { InvocationOutcome } from '../../../src/common/function-shapes.js';
import { FunctionsClient, functionsService, type FunctionsHandlers } from '../../../src/protocol/functions-rpc.js';
import { newServer } from '../../../src/protocol/flow-control.js';
import { bindServer, type BoundServer } from '../../../src/protocol/master-rpc.js';

let servers: BoundServer[] = [];
let clients: FunctionsClient[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.close(0)));
  servers = [];
  clients = [];
});

/** What the test's master answers for an invocation of `name` with `payload`: computed again by the assertions. */
function expected(name: string, payload: unknown): InvocationOutcome {
  if (name === 'fails') return { ok: false, code: 'HANDLER_ERROR', message: `boom ${JSON.stringify(payload)}`, durationMs: 2, coldStart: false };
  return { ok: true, result: { name, echo: payload }, durationMs: 1, coldStart: false };
}

function handlers(invoke: FunctionsHandlers['invoke']): FunctionsHandlers {
  const unused = (): never => { throw new Error('not used in this test'); };
  return { deploy: unused, list: unused, versions: unused, delete: unused, invoke, invokeAsync: async () => ({ eventId: 'ev-1' }), logs: unused };
}

/**
 * A master serving `h`; `unary` counts the unary Invoke calls it took. With
 * `streamless`, InvokeStream is left out (grpc-js answers UNIMPLEMENTED), as
 * on a master older than it.
 */
async function master(h: FunctionsHandlers, streamless = false): Promise<{ client: FunctionsClient; unary: () => number }> {
  const server = newServer();
  let unary = 0;
  // The registration as the master makes it, seen through a server that counts unary Invokes.
  const counting = {
    addService(def: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation) {
      const invoke = impl.invoke as grpc.handleUnaryCall<unknown, unknown>;
      const rest = streamless ? Object.fromEntries(Object.entries(impl).filter(([k]) => k !== 'invokeStream')) : impl;
      server.addService(def, { ...rest, invoke: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => { unary++; invoke(call, cb); } });
    },
  } as unknown as grpc.Server;
  functionsService(h)(counting);
  const s = await bindServer(server, '127.0.0.1', 0);
  servers.push(s);
  const client = new FunctionsClient(`127.0.0.1:${s.port}`);
  clients.push(client);
  return { client, unary: () => unary };
}

describe('synchronous invocations on one stream', () => {
  it('answers each invocation with its own outcome when the master answers out of order, with no unary Invoke', async () => {
    let seed = 11;
    const { client, unary } = await master(handlers(async (name, payload) => {
      // Delayed by a pseudo-random 0-4 ms each, so that answers come back in another order than sent.
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      await new Promise((r) => setTimeout(r, seed % 5));
      if (name === 'missing') throw new LaminateError('NOT_FOUND', `No function '${name}'`);
      return expected(name, payload);
    }));
    const names = Array.from({ length: 60 }, (_, i) => (i % 10 === 3 ? 'fails' : i % 10 === 7 ? 'missing' : `fn-${i % 4}`));
    const settled = await Promise.allSettled(names.map((name, i) => client.invoke(name, { i, tag: `p${i}` })));
    settled.forEach((s, i) => {
      const name = names[i]!;
      if (name === 'missing') {
        expect(s.status).toBe('rejected');
        expect((s as PromiseRejectedResult).reason).toMatchObject({ code: 'NOT_FOUND', message: `No function '${name}'` });
      } else {
        expect(s).toEqual({ status: 'fulfilled', value: expected(name, { i, tag: `p${i}` }) });
      }
    });
    expect(unary()).toBe(0);
    // Asynchronous invocations stay unary: the event id comes back.
    await expect(client.invokeAsync('fn-0', { a: 1 })).resolves.toEqual({ eventId: 'ev-1' });
    expect(unary()).toBe(1);
  });

  it('passes the payload and the version through, and an absent payload as undefined', async () => {
    const seen: Array<[string, unknown, number | undefined, number | undefined]> = [];
    const { client } = await master(handlers(async (name, payload, version, jsonBytes) => {
      seen.push([name, payload, version, jsonBytes]);
      return { ok: true, result: undefined, durationMs: 0, coldStart: true };
    }));
    await expect(client.invoke('f', { ü: 'x' }, 3)).resolves.toEqual({ ok: true, result: undefined, durationMs: 0, coldStart: true });
    await client.invoke('g', undefined);
    expect(seen).toEqual([['f', { ü: 'x' }, 3, Buffer.byteLength(JSON.stringify({ ü: 'x' }))], ['g', undefined, undefined, 0]]);
  });

  it('uses unary Invokes with a master that has no InvokeStream', async () => {
    const { client, unary } = await master(handlers(async (name, payload) => expected(name, payload)), true);
    for (const [i, name] of ['old-1', 'fails', 'old-2'].entries()) {
      await expect(client.invoke(name, { i })).resolves.toEqual(expected(name, { i }));
    }
    // The first went to the stream, was refused UNIMPLEMENTED and was sent again unary; the rest went unary at once.
    expect(unary()).toBe(3);
  });
});
