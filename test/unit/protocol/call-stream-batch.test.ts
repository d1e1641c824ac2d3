/**
 * Batches on a call stream (src/protocol/call-stream.ts), over a real
 * grpc-js server on 127.0.0.1 carrying Serving.GetStream: the Gets a client
 * issues in one turn travel in one message and their answers come back in
 * one, each still matched to its Get with its own error; a server older than
 * batches (no header, one request per message) and a client older than
 * batches (no header) each keep getting one call per message; the server's
 * bound on requests in flight holds with batches; deadlines of different
 * lengths on the one deadline timer.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import { BATCH_HEADER, GetStreamMux, getStreamHandler, MAX_BATCH, MAX_IN_FLIGHT } from '../../../src/protocol/get-stream.js';
import { CHANNEL_OPTIONS, services } from '../../../src/protocol/load.js';
import { bindServer, type BoundServer } from '../../../src/protocol/master-rpc.js';
import { newServer } from '../../../src/protocol/flow-control.js';
import type * as W from '../../../src/protocol/view-messages.js';

type Duplex = grpc.ClientDuplexStream<W.GetStreamRequest, W.GetStreamResponse>;

const coverage = { version: 3, cut: [5, 7], hasSpeed: false, speed: [], lag: 0, freshnessMs: 0, uncovered: [] };

/** The node's answer to a Get: the view name and the keys joined, so that each answer names its request (checked independently below). */
function answerOf(r: W.GetRequest): W.GetResponse {
  return { view: r.view, coverage, entries: [], packed: Buffer.from(r.keys.map((k) => k.toString('utf8')).join(',')) };
}

const req = (view: string, key: string): W.GetRequest => ({ view, keys: [Buffer.from(key)], version: 0, batchOnly: false, atLeast: [], waitMs: 0 });

interface Node { readonly port: number; readonly received: number[] }

let servers: BoundServer[] = [];
let closers: (() => void)[] = [];
afterEach(async () => {
  for (const c of closers) c();
  await Promise.all(servers.map((s) => s.close(0)));
  servers = [];
  closers = [];
});

/** A node whose GetStream is `handler`; `received` gets, per message read, the number of requests it carried. */
async function node(handler: grpc.handleBidiStreamingCall<W.GetStreamRequest, W.GetStreamResponse>): Promise<Node> {
  const received: number[] = [];
  const server = newServer();
  server.addService(services().serving, {
    getStream: (call: grpc.ServerDuplexStream<W.GetStreamRequest, W.GetStreamResponse>) => {
      call.on('data', (m: W.GetStreamRequest) => received.push(m.batch !== undefined && m.batch.length > 0 ? m.batch.length : 1));
      handler(call);
    },
  } as grpc.UntypedServiceImplementation);
  const s = await bindServer(server, '127.0.0.1', 0);
  servers.push(s);
  return { port: s.port, received };
}

/** A raw client of `port`; `answers` gets, per message read, the number of answers it carried. */
function rawClient(port: number): { client: grpc.Client; open: (md?: grpc.Metadata) => Duplex; answers: number[] } {
  const client = new (services().servingCtor)(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  closers.push(() => client.close());
  const answers: number[] = [];
  const open = (md?: grpc.Metadata): Duplex => {
    const stream = (client as unknown as { getStream(md: grpc.Metadata, o: grpc.CallOptions): Duplex }).getStream(md ?? new grpc.Metadata(), {});
    stream.on('data', (m: W.GetStreamResponse) => answers.push(m.batch !== undefined && m.batch.length > 0 ? m.batch.length : 1));
    return stream;
  };
  return { client, open, answers };
}

function mux(port: number): { mux: GetStreamMux; answers: number[] } {
  const raw = rawClient(port);
  const m = new GetStreamMux((md) => raw.open(md));
  closers.unshift(() => m.close());
  return { mux: m, answers: raw.answers };
}

const keyOf = (r: W.GetResponse): string => r.packed.toString('utf8');

describe('batches on a call stream', () => {
  it('sends the Gets of one turn in one message and takes their answers in one, each matched to its Get with its own error', async () => {
    const n = await node(getStreamHandler(async (r) => {
      if (r.view === 'missing') throw new LaminateError('NOT_FOUND', `No view '${r.view}' on this node`);
      // Answers in another order than asked: odd keys wait a turn.
      if (Number(r.keys[0]!.toString().slice(1)) % 2 === 1) await new Promise((ok) => setImmediate(ok));
      return answerOf(r);
    }));
    const { mux: m, answers } = mux(n.port);
    // The first Get learns that the node reads batches (its response headers).
    expect(keyOf(await m.get(req('a', 'k-first'), 5_000, 'test'))).toBe('k-first');
    const before = { received: n.received.length, answers: answers.length };
    const count = 40;
    const settled = await Promise.allSettled(Array.from({ length: count }, (_, i) => m.get(req(i % 10 === 3 ? 'missing' : 'a', `k${i}`), 5_000, 'test')));
    settled.forEach((s, i) => {
      if (i % 10 === 3) expect(s.status === 'rejected' && s.reason).toMatchObject({ code: 'NOT_FOUND', message: "No view 'missing' on this node" });
      else expect(s.status === 'fulfilled' && keyOf(s.value)).toBe(`k${i}`);
    });
    // All 40 in one message; their answers in two (the even ones in the first turn, the odd ones a turn later).
    expect(n.received.slice(before.received)).toEqual([count]);
    const answered = answers.slice(before.answers);
    expect(answered.reduce((s, x) => s + x, 0)).toBe(count);
    expect(answered.length).toBeLessThan(count / 4);
  });

  it('sends one Get per message to a node older than batches, and answers each', async () => {
    // An older node: no header, and each message read as one request (a batch field would be lost on it).
    const n = await node((call) => {
      call.on('data', (m: W.GetStreamRequest) => {
        call.write({ id: m.id, answer: answerOf(m.get!), errorCode: '', errorMessage: '' });
      });
      call.on('end', () => call.end());
    });
    const { mux: m } = mux(n.port);
    expect(keyOf(await m.get(req('a', 'first'), 5_000, 'test'))).toBe('first');
    const got = await Promise.all(Array.from({ length: 20 }, (_, i) => m.get(req('a', `k${i}`), 5_000, 'test')));
    expect(got.map(keyOf)).toEqual(Array.from({ length: 20 }, (_, i) => `k${i}`));
    expect(n.received).toEqual(Array.from({ length: 21 }, () => 1));
  });

  it('answers a client older than batches one answer per message', async () => {
    const n = await node(getStreamHandler((r) => Promise.resolve(answerOf(r))));
    const raw = rawClient(n.port);
    const stream = raw.open();
    const got: string[] = [];
    const all = new Promise<void>((ok) => stream.on('data', (m: W.GetStreamResponse) => {
      got.push(`${m.id}:${keyOf(m.answer!)}`);
      if (got.length === 10) ok();
    }));
    for (let i = 1; i <= 10; i++) stream.write({ id: i, get: req('a', `k${i}`) });
    await all;
    const ended = new Promise((ok) => stream.on('status', ok));
    stream.on('error', () => undefined);
    stream.end();
    await ended;
    expect(got.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `${i + 1}:k${i + 1}`).sort());
    expect(raw.answers).toEqual(Array.from({ length: 10 }, () => 1));
  });

  it('keeps the requests being answered within MAX_IN_FLIGHT + MAX_BATCH when they come in batches', async () => {
    let running = 0;
    let most = 0;
    const gate: (() => void)[] = [];
    const n = await node(getStreamHandler(async (r) => {
      running++;
      most = Math.max(most, running);
      if (r.view !== 'warm') await new Promise<void>((ok) => gate.push(ok));
      running--;
      return answerOf(r);
    }));
    const { mux: m } = mux(n.port);
    await m.get(req('warm', 'w'), 5_000, 'test');
    const total = MAX_IN_FLIGHT * 3;
    const gets = Array.from({ length: total }, (_, i) => m.get(req('a', `k${i}`), 30_000, 'test'));
    for (let waited = 0; running < MAX_IN_FLIGHT && waited < 10_000; waited += 5) await new Promise((ok) => setTimeout(ok, 5));
    // Time for more requests to reach the handler if the bound did not hold (a check of a bound, not a synchronisation).
    await new Promise((ok) => setTimeout(ok, 100));
    expect(running).toBeGreaterThanOrEqual(MAX_IN_FLIGHT);
    expect(running).toBeLessThan(MAX_IN_FLIGHT + MAX_BATCH);
    let released = 0;
    while (released < total) {
      if (gate.length === 0) {
        await new Promise((ok) => setTimeout(ok, 2));
        continue;
      }
      gate.shift()!();
      released++;
    }
    expect((await Promise.all(gets)).map(keyOf)).toEqual(Array.from({ length: total }, (_, i) => `k${i}`));
    expect(most).toBeLessThan(MAX_IN_FLIGHT + MAX_BATCH);
    expect(n.received.length).toBeLessThan(total / 4);
  });

  it('times out a short deadline sent after a long one first, and still answers the long one', async () => {
    let release: (() => void) | undefined;
    const n = await node(getStreamHandler(async (r) => {
      if (r.view === 'slow') await new Promise<void>((ok) => { release = ok; });
      if (r.view === 'never') await new Promise(() => undefined);
      return answerOf(r);
    }));
    const { mux: m } = mux(n.port);
    const slow = m.get(req('slow', 'long'), 30_000, 'test');
    const never = m.get(req('never', 'short'), 100, 'test');
    await expect(never).rejects.toMatchObject({ code: 'TIMEOUT', message: 'test: no answer within 100 ms' });
    // The long deadline is still pending and is answered once the node answers it.
    for (let waited = 0; release === undefined && waited < 5_000; waited += 5) await new Promise((ok) => setTimeout(ok, 5));
    release!();
    expect(keyOf(await slow)).toBe('long');
  });
});

describe('the batch header', () => {
  it('is named as the proto comments say', () => {
    expect(BATCH_HEADER).toBe('laminate-call-batch');
  });
});
