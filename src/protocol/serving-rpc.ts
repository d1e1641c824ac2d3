/**
 * The Serving service at the edge (hosted by each serving node): the server
 * side hands domain queries (src/common/serving-shapes.ts) to handlers, the
 * client side gives a promise per Get and an async iterator per Scan.
 *
 * Keys travel as the UTF-8 bytes of engine keys; a key that is not UTF-8
 * is refused here (INVALID_ARGUMENT), since decoding would silently turn it
 * into another key. Wire defaults become absent values here and nowhere
 * else: version 0 means the current one, an empty prefix none, limit 0 none,
 * an empty at_least none, wait_ms 0 the default; a coverage with has_speed
 * false has no speed fields, and freshness_ms -1 is an absent freshnessMs.
 * Entries travel packed in one bytes field (packed-entries.ts); the client
 * still reads a message per entry from a node that sends them so. Gets go on
 * one stream per client (get-stream.ts: a message each way, not a call per
 * Get; the Gets of one event-loop turn in one message, their answers
 * likewise, with a node that reads batches), and as unary calls to a node
 * older than that stream.
 */
import { isUtf8 } from 'node:buffer';
import * as grpc from '@grpc/grpc-js';
import { LaminateError } from '../common/errors.js';
import { varintSize, writeVarint } from '../common/varint.js';
import { DEFAULT_WAIT_MS, type Coverage, type GetAnswer, type GetQuery, type ScanChunkAnswer, type ScanQuery, type ServedEntry, type SpeedReadOptions } from '../common/serving-shapes.js';
import { CLIENT_WINDOW_OPTIONS, newServer } from './flow-control.js';
import { CHANNEL_OPTIONS, services } from './load.js';
import { bindServer, parseAddress, type BoundServer, type ServiceRegistration } from './master-rpc.js';
import { GetStreamMux, getStreamHandler } from './get-stream.js';
import { packEntries, unpackEntries } from './packed-entries.js';
import { callUnary, messageStreamHandler, readMessages, unaryHandler } from './rpc.js';
import type * as W from './view-messages.js';
import { channelCredentials, clientOptions } from './security.js';
import { wireScanLimit } from './scan-limit.js';

/** A Get answer whose entries are packed already (packed-entries.ts), as the wire carries them. */
export interface PackedGetAnswer {
  readonly view: string;
  readonly coverage: Coverage;
  readonly packed: Buffer;
}

/** A Scan chunk whose entries are packed already (packed-entries.ts), as the wire carries them. */
export interface PackedScanChunkAnswer {
  readonly view: string;
  readonly coverage: Coverage;
  readonly packed: Buffer;
  /**
   * Bytes before `packed` in its ArrayBuffer that are free (PackedWriter's
   * headroom): the message is then encoded around the packed bytes, not
   * copied with them.
   */
  readonly headroom?: number;
}

/** What the server side calls; see src/serving/query-handlers.ts. */
export interface ServingHandlers {
  get(query: GetQuery): Promise<GetAnswer>;
  /** get() with the entries packed; when present, the service answers Gets with it rather than get(). */
  getPacked?(query: GetQuery): Promise<PackedGetAnswer>;
  /** The chunks of a scan; `signal` aborts when the caller goes away. */
  scan(query: ScanQuery, signal: AbortSignal): AsyncIterable<ScanChunkAnswer>;
  /** The chunks of a scan packed; when present, the service answers Scans with it rather than scan(). */
  scanPacked?(query: ScanQuery, signal: AbortSignal): AsyncIterable<PackedScanChunkAnswer>;
}

// ---- wire <-> domain -----------------------------------------------------------

/** `what` names the key in the error (a function: a Get's keys are named only when one is refused). */
function keyOf(bytes: Buffer, what: string | (() => string)): string {
  if (!isUtf8(bytes)) throw new LaminateError('INVALID_ARGUMENT', `Expected ${typeof what === 'string' ? what : what()} to be the UTF-8 bytes of a key, got ${bytes.length} bytes that are not UTF-8`);
  return bytes.toString('utf8');
}

function versionOf(v: number): { version?: number } {
  if (!Number.isSafeInteger(v) || v < 0) throw new LaminateError('INVALID_ARGUMENT', `Expected a version that is a positive integer (0 for the current one), got ${v}`);
  return v > 0 ? { version: v } : {};
}

function toWireCoverage(c: Coverage): W.Coverage {
  if (c.speed === undefined) return { version: c.version, cut: [...c.cut], hasSpeed: false, speed: [], lag: 0, freshnessMs: 0, uncovered: [] };
  return {
    version: c.version, cut: [...c.cut], hasSpeed: true, speed: [...c.speed], lag: c.lag ?? 0, freshnessMs: c.freshnessMs ?? -1,
    uncovered: (c.uncovered ?? []).map((u) => ({ partition: u.partition, reason: u.reason })),
    ...(c.watermark !== undefined ? { watermark: c.watermark } : {}),
  };
}

function fromWireCoverage(c: W.Coverage | null, what: string): Coverage {
  if (c === null) throw new LaminateError('INTERNAL', `${what}: the answer carries no coverage`);
  if (!c.hasSpeed) return { version: c.version, cut: c.cut };
  return {
    version: c.version, cut: c.cut, speed: c.speed, lag: c.lag,
    ...(c.freshnessMs >= 0 ? { freshnessMs: c.freshnessMs } : {}),
    uncovered: c.uncovered.map((u) => ({ partition: u.partition, reason: u.reason })),
    ...(c.watermark !== undefined && c.watermark !== null ? { watermark: c.watermark } : {}),
  };
}

/** The speed-side options of a request, wire defaults made absent. */
function fromWireSpeedOptions(r: { batchOnly: boolean; atLeast: number[]; waitMs: number }): SpeedReadOptions {
  if (!Number.isSafeInteger(r.waitMs) || r.waitMs < 0) throw new LaminateError('INVALID_ARGUMENT', `Expected wait_ms to be 0 or more, got ${r.waitMs}`);
  return {
    ...(r.batchOnly ? { batchOnly: true } : {}),
    ...(r.atLeast.length > 0 ? { atLeast: r.atLeast } : {}),
    ...(r.waitMs > 0 ? { waitMs: r.waitMs } : {}),
  };
}

function toWireSpeedOptions(o: SpeedReadOptions): { batchOnly: boolean; atLeast: number[]; waitMs: number } {
  return { batchOnly: o.batchOnly === true, atLeast: [...(o.atLeast ?? [])], waitMs: o.waitMs ?? 0 };
}

function fromWireEntries(entries: readonly W.ViewEntry[]): ServedEntry[] {
  return entries.map((e) => ({
    key: e.key.toString('utf8'), value: e.value, found: e.found, ...(e.final !== undefined && e.final !== null ? { final: e.final } : {}),
  }));
}

/** The entries of an answer or chunk: packed by a node now, a message each by an older one. */
function entriesOf(m: { entries: readonly W.ViewEntry[]; packed: Buffer }): ServedEntry[] {
  return m.packed.length > 0 ? unpackEntries(m.packed) : fromWireEntries(m.entries);
}

function fromWireScan(r: W.ScanRequest): ScanQuery {
  return {
    view: r.view,
    ...versionOf(r.version),
    ...(r.prefix.length > 0 ? { prefix: keyOf(r.prefix, 'the scan prefix') } : {}),
    ...(r.from !== undefined && r.from !== null ? { from: keyOf(r.from, 'the scan start (from)') } : {}),
    ...(r.to !== undefined && r.to !== null ? { to: keyOf(r.to, 'the scan end (to)') } : {}),
    ...(r.limit > 0 ? { limit: r.limit } : {}),
    ...fromWireSpeedOptions(r),
  };
}

// ---- server --------------------------------------------------------------------

/**
 * The Serving service's definition with a Scan that also sends messages
 * encoded already (a Buffer is passed through as the message's bytes):
 * what scanChunkInPlace() makes.
 */
function withEncodedScanChunks(def: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const scan = def['Scan'];
  if (scan === undefined) throw new LaminateError('INTERNAL', 'Expected a Scan method in the Serving service definition');
  const serialize = scan.responseSerialize;
  return { ...def, Scan: { ...scan, responseSerialize: (m: W.ScanChunk | Buffer) => (Buffer.isBuffer(m) ? m : serialize(m)) } };
}

/**
 * A ScanChunk message encoded around its packed bytes: the other fields
 * (protobufjs's encoding of view and coverage), the packed field's tag and
 * length, written into the free bytes before `packed` (no copy of the
 * entries, which protobufjs's encoding made: a buffer allocated and filled
 * per chunk, with the page faults of a fresh buffer, about a third of the
 * node's Scan profile with grpc-js's own copy). Field order does not matter
 * to a protobuf reader. Undefined when the room is too small.
 */
function scanChunkInPlace(serialize: (m: W.ScanChunk) => Buffer, c: PackedScanChunkAnswer): Buffer | undefined {
  const room = c.headroom ?? 0;
  if (room === 0) return undefined;
  const head = serialize({ view: c.view, coverage: toWireCoverage(c.coverage), entries: [] } as unknown as W.ScanChunk);
  const n = c.packed.length;
  const before = head.length + 1 + varintSize(n);
  if (before > room) return undefined;
  const out = Buffer.from(c.packed.buffer, c.packed.byteOffset - before, before + n);
  head.copy(out, 0);
  out[head.length] = (4 << 3) | 2; // field 4 (packed), length-delimited
  writeVarint(out, head.length + 1, n);
  return out;
}

/** The Serving service, for a server being assembled. */
export function servingService(handlers: ServingHandlers): ServiceRegistration {
  return (server) => {
    const get = async (r: W.GetRequest): Promise<W.GetResponse> => {
      const keys = r.keys.map((k, i) => keyOf(k, () => `key ${i}`));
      const q: GetQuery = { view: r.view, keys, ...versionOf(r.version), ...fromWireSpeedOptions(r) };
      if (handlers.getPacked !== undefined) {
        const p = await handlers.getPacked(q);
        return { view: p.view, coverage: toWireCoverage(p.coverage), entries: [], packed: p.packed };
      }
      const a = await handlers.get(q);
      return { view: a.view, coverage: toWireCoverage(a.coverage), entries: [], packed: packEntries(a.entries) };
    };
    const serialize = services().serving['Scan']!.responseSerialize as (m: W.ScanChunk) => Buffer;
    server.addService(withEncodedScanChunks(services().serving), {
      get: unaryHandler(get),
      getStream: getStreamHandler(get),
      scan: messageStreamHandler(async function* (r: W.ScanRequest, signal: AbortSignal): AsyncGenerator<W.ScanChunk | Buffer> {
        const q = fromWireScan(r);
        if (handlers.scanPacked !== undefined) {
          for await (const c of handlers.scanPacked(q, signal)) {
            yield scanChunkInPlace(serialize, c) ?? { view: c.view, coverage: toWireCoverage(c.coverage), entries: [], packed: c.packed };
          }
          return;
        }
        for await (const c of handlers.scan(q, signal)) {
          yield { view: c.view, coverage: toWireCoverage(c.coverage), entries: [], packed: packEntries(c.entries) };
        }
      }),
    });
  };
}

/** Serves the Serving service alone on host:port (0 picks a port): a serving node's server. */
export async function serveServing(handlers: ServingHandlers, host: string, port: number): Promise<BoundServer> {
  const server = newServer();
  servingService(handlers)(server);
  return bindServer(server, host, port);
}

// ---- client --------------------------------------------------------------------

const DEFAULT_GET_TIMEOUT_MS = 10_000;

/** How long a request may wait on the node for the speed side (added to its deadline). */
function waitOf(o: SpeedReadOptions): number {
  return o.waitMs ?? (o.atLeast !== undefined ? DEFAULT_WAIT_MS : 0);
}

/** One channel to one serving node; safe to use concurrently. */
export class ServingClient {
  private readonly client: grpc.Client;
  /** Gets go on one stream (get-stream.ts), not a unary call each. */
  private readonly mux: GetStreamMux;

  constructor(readonly address: string) {
    parseAddress(address, 'a serving node address');
    this.client = new (services().servingCtor)(address, channelCredentials(), clientOptions({ ...CHANNEL_OPTIONS, ...CLIENT_WINDOW_OPTIONS }));
    this.mux = new GetStreamMux((md) => (this.client as unknown as {
      getStream(md: grpc.Metadata, o: grpc.CallOptions): grpc.ClientDuplexStream<W.GetStreamRequest, W.GetStreamResponse>;
    }).getStream(md, {}));
  }

  /**
   * Get (one key) or MultiGet (several), all from one version: `version`,
   * or the node's current one, merged with the view's speed side unless
   * `speed.batchOnly`. Keys are engine keys. The deadline is `timeoutMs`
   * plus the wait asked for (`speed.waitMs`, or its default with `atLeast`).
   *
   * @throws LaminateError NOT_FOUND for a view or version the node does
   *   not serve (a key it does not hold is an entry with found: false);
   *   DATA_LOSS for a damaged block; UNAVAILABLE when the node is gone;
   *   DEADLINE_EXCEEDED when `atLeast` was not reached in time.
   */
  async get(view: string, keys: readonly string[], version?: number, speed: SpeedReadOptions = {}, timeoutMs = DEFAULT_GET_TIMEOUT_MS): Promise<GetAnswer> {
    const what = `serving node ${this.address} get of view '${view}'`;
    const wire: W.GetRequest = { view, keys: keys.map((k) => Buffer.from(k, 'utf8')), version: version ?? 0, ...toWireSpeedOptions(speed) };
    const deadlineMs = timeoutMs + waitOf(speed);
    let r: W.GetResponse;
    if (this.mux.unsupported) {
      r = await callUnary<W.GetRequest, W.GetResponse>(this.client, 'get', wire, deadlineMs, what);
    } else {
      try {
        r = await this.mux.get(wire, deadlineMs, what);
      } catch (err) {
        // A node older than GetStream: this Get, and every later one, as a unary call.
        if (!this.mux.unsupported) throw err;
        r = await callUnary<W.GetRequest, W.GetResponse>(this.client, 'get', wire, deadlineMs, what);
      }
    }
    return { view: r.view, coverage: fromWireCoverage(r.coverage, what), entries: entriesOf(r) };
  }

  /**
   * The chunks of a scan, as the node sends them; leaving the loop early
   * cancels the call. Throws what get() throws (at the first chunk for a
   * view or version the node does not serve).
   */
  async *scan(query: ScanQuery, signal?: AbortSignal): AsyncGenerator<ScanChunkAnswer> {
    const what = `serving node ${this.address} scan of view '${query.view}'`;
    const wire: Partial<W.ScanRequest> & { view: string } = {
      view: query.view, version: query.version ?? 0, prefix: Buffer.from(query.prefix ?? '', 'utf8'), limit: wireScanLimit(query.limit), ...toWireSpeedOptions(query),
      ...(query.from !== undefined ? { from: Buffer.from(query.from, 'utf8') } : {}),
      ...(query.to !== undefined ? { to: Buffer.from(query.to, 'utf8') } : {}),
    };
    const stream = (this.client as unknown as {
      scan(r: typeof wire, o: grpc.CallOptions): grpc.ClientReadableStream<W.ScanChunk>;
    }).scan(wire, {});
    const cancel = (): void => stream.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      for await (const c of readMessages(stream, what)) {
        yield { view: c.view, coverage: fromWireCoverage(c.coverage, what), entries: entriesOf(c) };
      }
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  }

  close(): void {
    this.mux.close();
    this.client.close();
  }
}
