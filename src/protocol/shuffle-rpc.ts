/**
 * The Shuffle services at the edge: workers (or their node's shuffle service)
 * serve map outputs and reducers fetch them in chunks; a node's shuffle
 * service also takes its workers' attachments and the master's word on which
 * jobs still live (ShuffleHost).
 */
import * as grpc from '@grpc/grpc-js';
import type { LaminateError } from '../common/errors.js';
import { CHANNEL_OPTIONS, services } from './load.js';
import { bindServer, type BoundServer } from './master-rpc.js';
import type * as M from './messages.js';
import { callUnary, messageStreamHandler, readChunks, streamHandler, unaryHandler } from './rpc.js';
import { fromServiceError } from './status-codes.js';
import { channelCredentials, clientOptions, serverOptions } from './security.js';

export interface ShuffleHandlers {
  fetchPartition(req: M.FetchPartitionRequest, signal: AbortSignal): AsyncIterable<Buffer>;
  /** Where the partition's file is, for a reducer on this host (src/worker/host-local.ts). Without it, LocatePartition answers UNIMPLEMENTED and reducers stream. */
  locatePartition?(req: M.FetchPartitionRequest): Promise<M.PartitionFile>;
}

function shuffleImplementation(handlers: ShuffleHandlers): grpc.UntypedServiceImplementation {
  return {
    fetchPartition: streamHandler(handlers.fetchPartition),
    ...(handlers.locatePartition ? { locatePartition: unaryHandler(handlers.locatePartition) } : {}),
  };
}

export async function serveShuffle(handlers: ShuffleHandlers, host: string, port: number): Promise<BoundServer> {
  const server = new grpc.Server(serverOptions(CHANNEL_OPTIONS));
  server.addService(services().shuffle, shuffleImplementation(handlers));
  return bindServer(server, host, port);
}

/** What a node's shuffle service answers besides fetches. */
export interface ShuffleHostHandlers {
  /**
   * A worker attaches: yield its attachment, then keep the stream open until
   * `signal` aborts (the worker went away) or the service stops.
   */
  attachWorker(req: M.AttachShuffleRequest, signal: AbortSignal): AsyncIterable<M.ShuffleAttachment>;
  retainJobs(req: M.RetainJobsRequest): Promise<M.RetainJobsResponse>;
}

/** Serves Shuffle and ShuffleHost on one port: a node's shuffle service. */
export async function serveShuffleService(handlers: ShuffleHandlers & ShuffleHostHandlers, host: string, port: number): Promise<BoundServer> {
  const server = new grpc.Server(serverOptions(CHANNEL_OPTIONS));
  server.addService(services().shuffle, shuffleImplementation(handlers));
  server.addService(services().shuffleHost, {
    attachWorker: messageStreamHandler(handlers.attachWorker),
    retainJobs: unaryHandler(handlers.retainJobs),
  });
  return bindServer(server, host, port);
}

/** One client per shuffle address; a reduce attempt keeps them for its fetches. */
export class ShuffleClient {
  private readonly client: grpc.Client;

  constructor(readonly address: string) {
    const Ctor = services().shuffleCtor;
    this.client = new Ctor(address, channelCredentials(), clientOptions(CHANNEL_OPTIONS));
  }

  /** Streams one partition of a map output; throws a LaminateError if the fetch fails. */
  fetch(req: M.FetchPartitionRequest, timeoutMs: number): AsyncGenerator<Buffer> {
    const stream = (this.client as unknown as {
      fetchPartition(r: M.FetchPartitionRequest, o: grpc.CallOptions): grpc.ClientReadableStream<{ data: Buffer }>;
    }).fetchPartition(req, { deadline: Date.now() + timeoutMs });
    return readChunks(stream, `shuffle ${this.address} fetch of ${req.mapAttemptId}`);
  }

  /**
   * Where the partition's file is on the server's host; undefined when the
   * server does not offer it (UNIMPLEMENTED: a server without host-local
   * reads), so that the reducer streams. Throws a LaminateError as a fetch would.
   */
  locate(req: M.FetchPartitionRequest, timeoutMs: number): Promise<M.PartitionFile | undefined> {
    return callUnary<M.FetchPartitionRequest, M.PartitionFile>(this.client, 'locatePartition', req, timeoutMs, `shuffle ${this.address} locate of ${req.mapAttemptId}`)
      .catch((err: LaminateError) => {
        if ((err.cause as Partial<grpc.ServiceError> | undefined)?.code === grpc.status.UNIMPLEMENTED) return undefined;
        throw err;
      });
  }

  close(): void {
    this.client.close();
  }
}

/** A client of a node's shuffle service: for the workers that attach to it and the master that cleans it. */
export class ShuffleHostClient {
  private readonly client: grpc.Client;

  constructor(readonly address: string) {
    const Ctor = services().shuffleHostCtor;
    this.client = new Ctor(address, channelCredentials(), clientOptions(CHANNEL_OPTIONS));
  }

  /**
   * Attaches a worker. `onAttached` gets the attachment once; `onEnd` is
   * called once when the stream ends for any reason (the service went away,
   * or never answered), with the error if any. Returns a function that
   * detaches (after which `onEnd` is not called).
   */
  attach(req: M.AttachShuffleRequest, onAttached: (a: M.ShuffleAttachment) => void, onEnd: (err?: LaminateError) => void): () => void {
    const stream = (this.client as unknown as {
      attachWorker(r: M.AttachShuffleRequest): grpc.ClientReadableStream<M.ShuffleAttachment>;
    }).attachWorker(req);
    let ended = false;
    const end = (err?: unknown): void => {
      if (ended) return;
      ended = true;
      onEnd(err === undefined ? undefined : fromServiceError(err, `shuffle service ${this.address} attach`));
    };
    stream.on('data', (msg: M.ShuffleAttachment) => { if (!ended) onAttached(msg); });
    stream.on('error', (err) => end(err));
    stream.on('end', () => end());
    return () => { ended = true; stream.cancel(); };
  }

  retainJobs(req: M.RetainJobsRequest, timeoutMs: number): Promise<M.RetainJobsResponse> {
    return callUnary(this.client, 'retainJobs', req, timeoutMs, `shuffle service ${this.address} retainJobs`);
  }

  close(): void {
    this.client.close();
  }
}
