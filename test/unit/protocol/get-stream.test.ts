/**
 * Gets multiplexed on Serving.GetStream (src/protocol/get-stream.ts), over a
 * real grpc-js server on 127.0.0.1: answers matched to their requests when
 * they come back out of order, an error failing its own Get only, deadlines,
 * the server's bound on requests in flight, a node going away, and a node
 * older than the stream (unary Gets then).
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import type { GetAnswer, GetQuery, ServedEntry } from '../../../src/common/serving-shapes.js';
import { GetStreamMux, MAX_IN_FLIGHT } from '../../../src/protocol/get-stream.js';
import { CHANNEL_OPTIONS, services } from '../../../src/protocol/load.js';
import { bindServer, type BoundServer } from '../../../src/protocol/master-rpc.js';
import { unaryHandler } from '../../../src/protocol/rpc.js';
import { serveServing, ServingClient, type ServingHandlers } from '../../../src/protocol/serving-rpc.js';
import { packEntries, unpackEntries } from '../../../src/protocol/packed-entries.js';
import { newServer } from '../../../src/protocol/flow-control.js';
import type * as W from '../../../src/protocol/view-messages.js';

const coverage = { version: 3, cut: [5, 7] };
/** The value the test's node holds for a key: computed again by the assertions, independently of the node. */
const valueOf = (key: string): Buffer => Buffer.from(`v:${key.split('').reverse().join('')}`);

function answer(q: GetQuery): GetAnswer {
  return { view: q.view, coverage, entries: q.keys.map((key): ServedEntry => ({ key, value: valueOf(key), found: !key.startsWith('none') })) };
}

/** The key of a wire answer's one entry. */
function unpackKey(r: W.GetResponse): string | undefined {
  return unpackEntries(r.packed)[0]?.key;
}

const noScan: ServingHandlers['scan'] = async function* () { /* not used here */ };

let servers: BoundServer[] = [];
let clients: ServingClient[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.close(0)));
  servers = [];
  clients = [];
});

async function node(get: (q: GetQuery) => Promise<GetAnswer>): Promise<ServingClient> {
  const s = await serveServing({ get, scan: noScan }, '127.0.0.1', 0);
  servers.push(s);
  const c = new ServingClient(`127.0.0.1:${s.port}`);
  clients.push(c);
  return c;
}

describe('Gets on one stream', () => {
  it('matches each answer to its Get when the node answers out of order', async () => {
    // Answers delayed by a pseudo-random 0-4 ms each, so that they come back in another order than sent.
    let seed = 7;
    const client = await node(async (q) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      await new Promise((r) => setTimeout(r, seed % 5));
      return answer(q);
    });
    const keys = Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? `none-${i}` : `key-${i}`));
    const answers = await Promise.all(keys.map((k, i) => client.get(i % 2 === 0 ? 'a' : 'b', i % 3 === 0 ? [k, `${k}-x`] : [k])));
    answers.forEach((a, i) => {
      const k = keys[i]!;
      const asked = i % 3 === 0 ? [k, `${k}-x`] : [k];
      expect(a.view).toBe(i % 2 === 0 ? 'a' : 'b');
      expect(a.coverage).toEqual(coverage);
      expect(a.entries.map((e) => e.key)).toEqual(asked);
      for (const e of a.entries) {
        expect(e.found).toBe(!e.key.startsWith('none'));
        expect(Buffer.from(e.value).equals(valueOf(e.key))).toBe(true);
      }
    });
  });

  it('fails only the Get whose handler failed, with its code and message', async () => {
    const client = await node(async (q) => {
      if (q.view === 'missing') throw new LaminateError('NOT_FOUND', `No view '${q.view}' on this node`);
      if (q.view === 'broken') throw new Error('disk on fire');
      return answer(q);
    });
    const [ok, missing, broken, ok2] = await Promise.allSettled([
      client.get('a', ['k1']), client.get('missing', ['k2']), client.get('broken', ['k3']), client.get('a', ['k4']),
    ]);
    expect(ok.status === 'fulfilled' && ok.value.entries[0]!.key).toBe('k1');
    expect(ok2.status === 'fulfilled' && ok2.value.entries[0]!.key).toBe('k4');
    expect(missing.status === 'rejected' && missing.reason).toMatchObject({ code: 'NOT_FOUND', message: "No view 'missing' on this node" });
    expect(broken.status === 'rejected' && broken.reason).toMatchObject({ code: 'INTERNAL', message: 'disk on fire' });
    // The stream goes on after the errors.
    expect((await client.get('a', ['k5'])).entries[0]!.key).toBe('k5');
  });

  it('times out a Get the node does not answer, and keeps serving the others', async () => {
    const client = await node((q) => (q.keys[0] === 'hang' ? new Promise<GetAnswer>(() => undefined) : Promise.resolve(answer(q))));
    const hung = client.get('a', ['hang'], undefined, {}, 150);
    const fine = client.get('a', ['fine'], undefined, {}, 5_000);
    expect((await fine).entries[0]!.key).toBe('fine');
    await expect(hung).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect((await client.get('a', ['after'])).entries[0]!.key).toBe('after');
  });

  it('stops reading a stream past MAX_IN_FLIGHT requests and answers every one once released', async () => {
    let running = 0;
    let most = 0;
    const gate: (() => void)[] = [];
    const client = await node(async (q) => {
      running++;
      most = Math.max(most, running);
      await new Promise<void>((r) => gate.push(r));
      running--;
      return answer(q);
    });
    const total = MAX_IN_FLIGHT * 3;
    const gets = Array.from({ length: total }, (_, i) => client.get('a', [`k${i}`]));
    for (let waited = 0; running < MAX_IN_FLIGHT && waited < 10_000; waited += 5) await new Promise((r) => setTimeout(r, 5));
    // Time for more requests to reach the handler if the bound did not hold (a check of a bound, not a synchronisation).
    await new Promise((r) => setTimeout(r, 100));
    expect(running).toBe(MAX_IN_FLIGHT);
    // Release answers one by one as they are asked for, until all are answered.
    let released = 0;
    while (released < total) {
      if (gate.length === 0) {
        await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      expect(running).toBeLessThanOrEqual(MAX_IN_FLIGHT);
      gate.shift()!();
      released++;
    }
    const answers = await Promise.all(gets);
    expect(answers.map((a) => a.entries[0]!.key)).toEqual(Array.from({ length: total }, (_, i) => `k${i}`));
    expect(most).toBe(MAX_IN_FLIGHT);
  });

  it('fails the Gets in flight when the node goes away, and reaches a node that is back', async () => {
    const s = await serveServing({ get: () => new Promise<GetAnswer>(() => undefined), scan: noScan }, '127.0.0.1', 0);
    const client = new ServingClient(`127.0.0.1:${s.port}`);
    clients.push(client);
    const inFlight = [client.get('a', ['x']), client.get('a', ['y'])];
    await new Promise((r) => setTimeout(r, 50));
    s.server.forceShutdown();
    for (const g of inFlight) await expect(g).rejects.toBeInstanceOf(LaminateError);
    for (const g of inFlight) await expect(g).rejects.toMatchObject({ code: expect.stringMatching(/^(UNAVAILABLE|CANCELLED)$/) });
    // A node on the same port again: the next Get opens a new stream to it.
    const back = await serveServing({ get: (q) => Promise.resolve(answer(q)), scan: noScan }, '127.0.0.1', s.port);
    servers.push(back);
    let got: GetAnswer | undefined;
    for (let i = 0; i < 50 && got === undefined; i++) {
      got = await client.get('a', ['z']).catch(async () => { await new Promise((r) => setTimeout(r, 100)); return undefined; });
    }
    expect(got?.entries[0]!.key).toBe('z');
  });

  it('keeps a stream open while it is used and ends it once unused for idleMs; the next Get opens another', async () => {
    const s = await serveServing({ get: (q) => Promise.resolve(answer(q)), scan: noScan }, '127.0.0.1', 0);
    servers.push(s);
    const grpcClient = new (services().servingCtor)(`127.0.0.1:${s.port}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    const opened: grpc.ClientDuplexStream<W.GetStreamRequest, W.GetStreamResponse>[] = [];
    const ended: boolean[] = [];
    const mux = new GetStreamMux(() => {
      const stream = (grpcClient as unknown as { getStream(o: grpc.CallOptions): grpc.ClientDuplexStream<W.GetStreamRequest, W.GetStreamResponse> }).getStream({});
      const i = opened.push(stream) - 1;
      ended[i] = false;
      stream.on('status', () => { ended[i] = true; });
      return stream;
    }, 150);
    const req = (key: string): W.GetRequest => ({ view: 'a', keys: [Buffer.from(key)], version: 0, batchOnly: false, atLeast: [], waitMs: 0 });
    try {
      // Used every 40 ms for 600 ms: never idle for 150 ms, so one stream throughout.
      for (let i = 0; i < 15; i++) {
        expect(unpackKey(await mux.get(req(`k${i}`), 5_000, 'test'))).toBe(`k${i}`);
        await new Promise((r) => setTimeout(r, 40));
      }
      expect(opened.length).toBe(1);
      expect(ended[0]).toBe(false);
      // Unused: ended within a few idle periods.
      for (let waited = 0; !ended[0] && waited < 5_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
      expect(ended[0]).toBe(true);
      expect(unpackKey(await mux.get(req('again'), 5_000, 'test'))).toBe('again');
      expect(opened.length).toBe(2);
    } finally {
      mux.close();
      grpcClient.close();
    }
  });

  it('uses unary Gets with a node that has no GetStream', async () => {
    // An older node: Get and Scan only (grpc-js answers UNIMPLEMENTED for the rest).
    const server = newServer();
    server.addService(services().serving, {
      get: unaryHandler((r: { view: string; keys: Buffer[] }) => {
        const a = answer({ view: r.view, keys: r.keys.map((k) => k.toString('utf8')) });
        return { view: a.view, coverage: { version: 3, cut: [5, 7], hasSpeed: false, speed: [], lag: 0, freshnessMs: 0, uncovered: [] }, entries: [], packed: packEntries(a.entries) };
      }),
    } as grpc.UntypedServiceImplementation);
    const s = await bindServer(server, '127.0.0.1', 0);
    servers.push(s);
    const client = new ServingClient(`127.0.0.1:${s.port}`);
    clients.push(client);
    for (const k of ['old-1', 'old-2']) {
      const a = await client.get('a', [k]);
      expect(a.entries.map((e) => [e.key, Buffer.from(e.value).toString()])).toEqual([[k, valueOf(k).toString()]]);
      expect(a.coverage).toEqual(coverage);
    }
  });
});
