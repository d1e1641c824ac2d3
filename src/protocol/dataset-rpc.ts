/**
 * The Dataset service at the edge: the server side hands plain, domain-shaped
 * requests to handlers; the client side gives one promise (or async
 * iterator) per RPC. Wire defaults are turned into absent values here and
 * nowhere else: an empty producer id means "not idempotent", partitions 0
 * means "the store's default", an unset end offset means "the durable end".
 *
 * The domain shapes are src/common/dataset-shapes.ts, the store's own: the
 * master's dataset service passes the store's objects straight through.
 */
import * as grpc from '@grpc/grpc-js';
import type { LaminateError } from '../common/errors.js';
import type { AppendBatch, AppendResult, DatasetDescription, ReadChunk } from '../common/dataset-shapes.js';
import { CLIENT_WINDOW_OPTIONS } from './flow-control.js';
import { CHANNEL_OPTIONS, services } from './load.js';
import type * as W from './dataset-messages.js';
import { parseAddress, type ServiceRegistration } from './master-rpc.js';
import { encodeAppendRequest } from './append-encoding.js';
import { callUnary, callUnaryWith, messageStreamHandler, readMessages, unaryHandler } from './rpc.js';
import { channelCredentials, clientOptions } from './security.js';

export type { AppendBatch, AppendResult, DatasetDescription, PartitionDescription, ReadChunk } from '../common/dataset-shapes.js';
export { allocateAppendBuffer } from './append-encoding.js';

/** Where a producer left off on one partition. */
export interface ProducerSequence {
  readonly partition: number;
  /** The sequence the producer's next batch on this partition must start at. */
  readonly nextSequence: number;
}

export interface ReadRequest {
  readonly dataset: string;
  readonly partition: number;
  readonly from: number;
  /** Stop before this offset; absent: at the durable end (or never, with follow). */
  readonly endOffset?: number;
  /** At the end, wait for new records instead of ending. */
  readonly follow: boolean;
  /** Soft cap on a chunk's body; absent: the store's default. */
  readonly maxBytes?: number;
}

/** Records [fromOffset, toOffset) in bytes [start, end) of a segment file, as the master sees the file. */
export interface LocatedSegmentRange {
  readonly path: string;
  readonly start: number;
  readonly end: number;
  readonly fromOffset: number;
  readonly toOffset: number;
  readonly dev: string;
  readonly ino: string;
  /** The file's birth time (src/storage/local-file.ts). */
  readonly stamp: string;
}

/** Where records of a partition are on the master's host (LocateRange); no ranges: read them with Read. */
export interface LocatedRanges {
  readonly host: string;
  readonly ranges: readonly LocatedSegmentRange[];
}

/** What the server side calls; see src/master/dataset-service.ts. */
export interface DatasetHandlers {
  createDataset(name: string, partitions: number | undefined): Promise<DatasetDescription>;
  describeDataset(name: string): Promise<DatasetDescription> | DatasetDescription;
  listDatasets(): Promise<DatasetDescription[]> | DatasetDescription[];
  initProducer(dataset: string, producerId: string): Promise<ProducerSequence[]> | ProducerSequence[];
  append(batches: AppendBatch[]): Promise<AppendResult[]>;
  /**
   * Chunks of the partition; `signal` aborts when the client cancels. A
   * follow read starting at the end first yields an empty chunk, so the
   * client knows the read is open.
   */
  read(req: ReadRequest, signal: AbortSignal): AsyncIterable<ReadChunk>;
  /** Where records [from, end) are on this host's disk (read in place by src/worker/dataset-reader.ts). Without it LocateRange answers UNIMPLEMENTED and maps use Read. */
  locateRange?(dataset: string, partition: number, from: number, end: number): Promise<LocatedRanges>;
}

// ---- wire <-> domain -----------------------------------------------------------

function toWireInfo(d: DatasetDescription): W.DatasetInfo {
  return { name: d.name, createdAtMs: d.createdAt, partitions: d.partitions.map((p) => ({ ...p })) };
}

function fromWireInfo(w: W.DatasetInfo): DatasetDescription {
  return {
    name: w.name,
    createdAt: w.createdAtMs,
    partitions: w.partitions.map((p) => ({ partition: p.partition, endOffset: p.endOffset, segments: p.segments, records: p.records, bytes: p.bytes })),
  };
}

function fromWireBatch(b: W.WireAppendBatch): AppendBatch {
  const base = { dataset: b.dataset, partition: b.partition, body: b.body, count: b.count };
  if (b.producerId === '') return base;
  return { ...base, producerId: b.producerId, sequence: b.sequence, ...(b.replay ? { replay: true } : {}) };
}

function toWireBatch(b: AppendBatch): W.WireAppendBatch {
  return {
    dataset: b.dataset, partition: b.partition, count: b.count, body: Buffer.from(b.body.buffer, b.body.byteOffset, b.body.byteLength),
    producerId: b.producerId ?? '', sequence: b.sequence ?? 0, replay: b.replay === true,
  };
}

function fromWireRead(r: W.ReadRequest): ReadRequest {
  return {
    dataset: r.dataset, partition: r.partition, from: r.from, follow: r.follow,
    ...(r.endOffset !== undefined ? { endOffset: r.endOffset } : {}),
    ...(r.maxBytes > 0 ? { maxBytes: r.maxBytes } : {}),
  };
}

function toWireChunk(c: ReadChunk): W.ReadChunk {
  return {
    partition: c.partition, firstOffset: c.firstOffset, count: c.count, nextOffset: c.nextOffset, endOffset: c.endOffset, readAtMs: c.readAtMs ?? 0,
    body: Buffer.from(c.body.buffer, c.body.byteOffset, c.body.byteLength),
  };
}

// ---- server --------------------------------------------------------------------

/** The Dataset service, for serveMaster's `extra` (or a server of its own). */
export function datasetService(handlers: DatasetHandlers): ServiceRegistration {
  return (server) => {
    server.addService(services().dataset, {
      createDataset: unaryHandler(async (r: W.CreateDatasetRequest) => toWireInfo(await handlers.createDataset(r.name, r.partitions === 0 ? undefined : r.partitions))),
      describeDataset: unaryHandler(async (r: W.DescribeDatasetRequest) => toWireInfo(await handlers.describeDataset(r.name))),
      listDatasets: unaryHandler(async (): Promise<W.DatasetList> => ({ datasets: (await handlers.listDatasets()).map(toWireInfo) })),
      initProducer: unaryHandler(async (r: W.InitProducerRequest): Promise<W.InitProducerResponse> => ({
        partitions: (await handlers.initProducer(r.dataset, r.producerId)).map((p) => ({ ...p })),
      })),
      append: unaryHandler(async (r: W.AppendRequest): Promise<W.AppendResponse> => ({
        results: (await handlers.append(r.batches.map(fromWireBatch))).map((x) => ({ ...x })),
      })),
      read: messageStreamHandler(async function* (r: W.ReadRequest, signal: AbortSignal) {
        for await (const c of handlers.read(fromWireRead(r), signal)) yield toWireChunk(c);
      }),
      ...(handlers.locateRange ? {
        locateRange: unaryHandler(async (r: W.LocateRangeRequest): Promise<W.LocatedRanges> => {
          const located = await handlers.locateRange!(r.dataset, r.partition, r.from, r.endOffset);
          return { host: located.host, ranges: located.ranges.map((x) => ({ ...x })) };
        }),
      } : {}),
    });
  };
}

// ---- client --------------------------------------------------------------------

/**
 * Reconnect quickly after the master restarts: grpc-js otherwise backs off
 * up to 120 s between connection attempts, and a producer retrying through a
 * restart would wait that long after the master is back.
 */
const RECONNECT_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
};

/** Default deadline of the small unary calls. */
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * One channel to a Dataset service. Used by LaminateClient and its
 * producers; every method is safe to call concurrently.
 */
export class DatasetClient {
  private readonly client: grpc.Client;

  constructor(readonly address: string) {
    parseAddress(address);
    const Ctor = services().datasetCtor;
    this.client = new Ctor(address, channelCredentials(), clientOptions({ ...CHANNEL_OPTIONS, ...CLIENT_WINDOW_OPTIONS, ...RECONNECT_OPTIONS }));
  }

  private call<Req, Res>(method: string, req: Req, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Res> {
    return callUnary<Req, Res>(this.client, method, req, timeoutMs, `dataset service ${this.address} ${method}`);
  }

  async createDataset(name: string, partitions?: number): Promise<DatasetDescription> {
    return fromWireInfo(await this.call<W.CreateDatasetRequest, W.DatasetInfo>('createDataset', { name, partitions: partitions ?? 0 }));
  }

  async describeDataset(name: string, timeoutMs?: number): Promise<DatasetDescription> {
    return fromWireInfo(await this.call<W.DescribeDatasetRequest, W.DatasetInfo>('describeDataset', { name }, timeoutMs));
  }

  async listDatasets(): Promise<DatasetDescription[]> {
    return (await this.call<object, W.DatasetList>('listDatasets', {})).datasets.map(fromWireInfo);
  }

  async initProducer(dataset: string, producerId: string, timeoutMs?: number): Promise<ProducerSequence[]> {
    const res = await this.call<W.InitProducerRequest, W.InitProducerResponse>('initProducer', { dataset, producerId }, timeoutMs);
    return res.partitions.map((p) => ({ partition: p.partition, nextSequence: p.nextSequence }));
  }

  /**
   * Resolves once every batch is durable, with one result per batch, in
   * order. A body from allocateAppendBuffer is sent without a copy (its
   * headroom holds the request's header: see append-encoding.ts).
   */
  async append(batches: readonly AppendBatch[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<AppendResult[]> {
    const method = services().dataset.Append as grpc.MethodDefinition<W.AppendRequest, W.AppendResponse>;
    const serialize = (r: W.AppendRequest): Buffer => encodeAppendRequest(r) ?? method.requestSerialize(r);
    const res = await callUnaryWith(this.client, method, serialize, { batches: batches.map(toWireBatch) }, timeoutMs, `dataset service ${this.address} append`);
    return res.results.map((x) => ({ partition: x.partition, firstOffset: x.firstOffset, count: x.count, duplicate: x.duplicate, skipped: x.skipped }));
  }

  /**
   * Streams chunks of one partition. Ends when the server ends the stream,
   * or quietly when `signal` aborts; a failure is the LaminateError the
   * server raised (UNAVAILABLE when the connection is lost).
   */
  async *read(req: ReadRequest, signal?: AbortSignal): AsyncGenerator<ReadChunk> {
    if (signal?.aborted) return;
    const wire: W.ReadRequest = {
      dataset: req.dataset, partition: req.partition, from: req.from, follow: req.follow, maxBytes: req.maxBytes ?? 0,
      ...(req.endOffset !== undefined ? { endOffset: req.endOffset } : {}),
    };
    const stream = (this.client as unknown as { read(r: W.ReadRequest): grpc.ClientReadableStream<W.ReadChunk> }).read(wire);
    const onAbort = (): void => stream.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const c of readMessages(stream, `dataset service ${this.address} read of ${req.dataset}/${req.partition}`)) {
        yield {
          partition: c.partition, firstOffset: c.firstOffset, count: c.count, body: c.body, nextOffset: c.nextOffset, endOffset: c.endOffset,
          ...(c.readAtMs > 0 ? { readAtMs: c.readAtMs } : {}),
        };
      }
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Where records [from, end) of a partition are on the master's host;
   * undefined when the master does not offer it (UNIMPLEMENTED), so that the
   * map reads them with read(). Throws the LaminateError the master raised.
   */
  async locateRange(dataset: string, partition: number, from: number, end: number): Promise<LocatedRanges | undefined> {
    try {
      return await this.call<W.LocateRangeRequest, W.LocatedRanges>('locateRange', { dataset, partition, from, endOffset: end });
    } catch (err) {
      if (((err as LaminateError).cause as Partial<grpc.ServiceError> | undefined)?.code === grpc.status.UNIMPLEMENTED) return undefined;
      throw err;
    }
  }

  close(): void {
    this.client.close();
  }
}
