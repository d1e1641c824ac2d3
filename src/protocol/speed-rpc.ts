/**
 * The Speed service at the edge (hosted by each speed process, asked by
 * serving nodes): the server side hands domain reads
 * (src/common/speed-shapes.ts) to the speed engine, the client side gives a
 * promise per Get and per Scan.
 *
 * Keys travel as the UTF-8 bytes of engine keys (a key that is not UTF-8 is
 * refused, INVALID_ARGUMENT, as the Serving service does); accumulators as
 * msgpack, untouched here. Wire defaults become absent values here and
 * nowhere else: an empty `base` none, empty `at_least` none, wait 0 none,
 * an empty `uncovered` string a covered partition.
 */
import { isUtf8 } from 'node:buffer';
import * as grpc from '@grpc/grpc-js';
import { LaminateError } from '../common/errors.js';
import type { SpeedAnswer, SpeedGetQuery, SpeedScanQuery } from '../common/speed-shapes.js';
import { CLIENT_WINDOW_OPTIONS, newServer } from './flow-control.js';
import { CHANNEL_OPTIONS, services } from './load.js';
import { bindServer, parseAddress, type BoundServer, type ServiceRegistration } from './master-rpc.js';
import { callUnary, unaryHandler } from './rpc.js';
import type * as W from './view-messages.js';
import { channelCredentials, clientOptions } from './security.js';
import { wireScanLimit } from './scan-limit.js';

/** What the server side calls: the speed engine (src/speed/speed-engine.ts). */
export interface SpeedHandlers {
  get(query: SpeedGetQuery): Promise<SpeedAnswer>;
  scan(query: SpeedScanQuery): Promise<SpeedAnswer>;
}

// ---- wire <-> domain -----------------------------------------------------------

function keyOf(bytes: Buffer, what: string): string {
  if (!isUtf8(bytes)) throw new LaminateError('INVALID_ARGUMENT', `Expected ${what} to be the UTF-8 bytes of a key, got ${bytes.length} bytes that are not UTF-8`);
  return bytes.toString('utf8');
}

function bufferOf(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function fromWireGet(r: W.SpeedGetRequest): SpeedGetQuery {
  return {
    view: r.view, cut: r.cut, keys: r.keys.map((k, i) => keyOf(k, `key ${i}`)),
    ...(r.definitionHash !== '' ? { definitionHash: r.definitionHash } : {}),
    ...(r.base.length > 0 ? { base: r.base } : {}),
    ...(r.atLeast.length > 0 ? { atLeast: r.atLeast } : {}),
    ...(r.waitMs > 0 ? { waitMs: r.waitMs } : {}),
  };
}

function fromWireScan(r: W.SpeedScanRequest): SpeedScanQuery {
  return {
    view: r.view, cut: r.cut,
    ...(r.definitionHash !== '' ? { definitionHash: r.definitionHash } : {}),
    ...(r.prefix.length > 0 ? { prefix: keyOf(r.prefix, 'the scan prefix') } : {}),
    ...(r.from !== undefined && r.from !== null ? { from: keyOf(r.from, 'the scan start (from)') } : {}),
    ...(r.to !== undefined && r.to !== null ? { to: keyOf(r.to, 'the scan end (to)') } : {}),
    ...(r.limit > 0 ? { limit: r.limit } : {}),
  };
}

function toWireAnswer(a: SpeedAnswer): W.SpeedAnswer {
  return {
    view: a.view,
    partitions: a.partitions.map((p) => ({ partition: p.partition, applied: p.applied, lag: p.lag, caughtUpAtMs: p.caughtUpAt, uncovered: p.uncovered ?? '' })),
    entries: a.entries.map((e) => ({ key: Buffer.from(e.key, 'utf8'), acc: bufferOf(e.acc) })),
    ...(a.watermark !== undefined ? { watermark: a.watermark } : {}),
  };
}

function fromWireAnswer(a: W.SpeedAnswer): SpeedAnswer {
  return {
    view: a.view,
    partitions: a.partitions.map((p) => ({
      partition: p.partition, applied: p.applied, lag: p.lag, caughtUpAt: p.caughtUpAtMs,
      ...(p.uncovered !== '' ? { uncovered: p.uncovered } : {}),
    })),
    entries: a.entries.map((e) => ({ key: e.key.toString('utf8'), acc: e.acc })),
    ...(a.watermark !== undefined && a.watermark !== null ? { watermark: a.watermark } : {}),
  };
}

// ---- server --------------------------------------------------------------------

/** The Speed service, for a server being assembled. */
export function speedService(handlers: SpeedHandlers): ServiceRegistration {
  return (server) => {
    server.addService(services().speed, {
      get: unaryHandler(async (r: W.SpeedGetRequest): Promise<W.SpeedAnswer> => toWireAnswer(await handlers.get(fromWireGet(r)))),
      scan: unaryHandler(async (r: W.SpeedScanRequest): Promise<W.SpeedAnswer> => toWireAnswer(await handlers.scan(fromWireScan(r)))),
    });
  };
}

/** Serves the Speed service alone on host:port (0 picks a port): a speed process's server. */
export async function serveSpeed(handlers: SpeedHandlers, host: string, port: number): Promise<BoundServer> {
  const server = newServer();
  speedService(handlers)(server);
  return bindServer(server, host, port);
}

// ---- client --------------------------------------------------------------------

const DEFAULT_TIMEOUT_MS = 10_000;

/** One channel to one speed process; safe to use concurrently. */
export class SpeedClient {
  private readonly client: grpc.Client;

  constructor(readonly address: string) {
    parseAddress(address, 'a speed process address');
    this.client = new (services().speedCtor)(address, channelCredentials(), clientOptions({ ...CHANNEL_OPTIONS, ...CLIENT_WINDOW_OPTIONS }));
  }

  /**
   * The speed side of some keys from exactly `q.cut` on. The call's
   * deadline is `timeoutMs` plus the query's own wait.
   *
   * @throws LaminateError NOT_FOUND for a view the process does not run;
   *   UNAVAILABLE when the process is gone.
   */
  async get(q: SpeedGetQuery, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<SpeedAnswer> {
    const wire: W.SpeedGetRequest = {
      view: q.view, cut: [...q.cut], keys: q.keys.map((k) => Buffer.from(k, 'utf8')),
      base: (q.base ?? []).map(bufferOf), atLeast: [...(q.atLeast ?? [])], waitMs: q.waitMs ?? 0, definitionHash: q.definitionHash ?? '',
    };
    const what = `speed process ${this.address} get of view '${q.view}'`;
    return fromWireAnswer(await callUnary<W.SpeedGetRequest, W.SpeedAnswer>(this.client, 'get', wire, timeoutMs + (q.waitMs ?? 0), what));
  }

  /** The speed side of the keys within the bounds, in key order; throws what get() throws. */
  async scan(q: SpeedScanQuery, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<SpeedAnswer> {
    const wire: Partial<W.SpeedScanRequest> & { view: string } = {
      view: q.view, cut: [...q.cut], prefix: Buffer.from(q.prefix ?? '', 'utf8'), limit: wireScanLimit(q.limit), definitionHash: q.definitionHash ?? '',
      ...(q.from !== undefined ? { from: Buffer.from(q.from, 'utf8') } : {}),
      ...(q.to !== undefined ? { to: Buffer.from(q.to, 'utf8') } : {}),
    };
    const what = `speed process ${this.address} scan of view '${q.view}'`;
    return fromWireAnswer(await callUnary<typeof wire, W.SpeedAnswer>(this.client, 'scan', wire, timeoutMs, what));
  }

  close(): void {
    this.client.close();
  }
}
