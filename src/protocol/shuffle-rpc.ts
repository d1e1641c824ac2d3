/** The Shuffle service at the edge: workers serve map outputs, reducers fetch them in chunks. */
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, services } from './load.js';
import { bindServer, type BoundServer } from './master-rpc.js';
import type { FetchPartitionRequest } from './messages.js';
import { readChunks, streamHandler } from './rpc.js';

export interface ShuffleHandlers {
  fetchPartition(req: FetchPartitionRequest, signal: AbortSignal): AsyncIterable<Buffer>;
}

export async function serveShuffle(handlers: ShuffleHandlers, host: string, port: number): Promise<BoundServer> {
  const server = new grpc.Server(CHANNEL_OPTIONS);
  server.addService(services().shuffle, { fetchPartition: streamHandler(handlers.fetchPartition) });
  return bindServer(server, host, port);
}

/** One client per shuffle address; a reduce attempt keeps them for its fetches. */
export class ShuffleClient {
  private readonly client: grpc.Client;

  constructor(readonly address: string) {
    const Ctor = services().shuffleCtor;
    this.client = new Ctor(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  }

  /** Streams one partition of a map output; throws a LaminateError if the fetch fails. */
  fetch(req: FetchPartitionRequest, timeoutMs: number): AsyncGenerator<Buffer> {
    const stream = (this.client as unknown as {
      fetchPartition(r: FetchPartitionRequest, o: grpc.CallOptions): grpc.ClientReadableStream<{ data: Buffer }>;
    }).fetchPartition(req, { deadline: Date.now() + timeoutMs });
    return readChunks(stream, `shuffle ${this.address} fetch of ${req.mapAttemptId}`);
  }

  close(): void {
    this.client.close();
  }
}
