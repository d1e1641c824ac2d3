/**
 * Gets multiplexed on one long-lived bidirectional stream (Serving.GetStream):
 * each request carries an id, each answer the id of its request, answers in
 * any order. The stream's both ends are call-stream.ts's (why a stream, the
 * batches of the Gets of one turn and of their answers, the server's bound on
 * requests in flight, the client's idle end, deadlines per Get, the fallback
 * to the unary Get on a node older than the stream); this file names them
 * for Gets.
 */
import type * as grpc from '@grpc/grpc-js';
import { CallStreamMux, callStreamHandler } from './call-stream.js';
import type * as W from './view-messages.js';

export { BATCH_HEADER, IDLE_MS, MAX_BATCH, MAX_IN_FLIGHT } from './call-stream.js';

/** The server side of Serving.GetStream: `get` answers one request, as the unary Get does. */
export function getStreamHandler(get: (r: W.GetRequest) => Promise<W.GetResponse>): grpc.handleBidiStreamingCall<W.GetStreamRequest, W.GetStreamResponse> {
  return callStreamHandler('get', get);
}

/** Opens the bidirectional call (the client's `getStream` method) with `metadata` as its request headers. */
export type OpenGetStream = (metadata: grpc.Metadata) => grpc.ClientDuplexStream<W.GetStreamRequest, W.GetStreamResponse>;

/** The client side: Gets in flight on one stream, by id. Safe to use concurrently (one event loop). */
export class GetStreamMux extends CallStreamMux<'get', W.GetRequest, W.GetResponse> {
  /** `idleMs`: how long an unused stream stays open (tests shorten it). */
  constructor(open: OpenGetStream, idleMs?: number) {
    super(open, 'get', idleMs);
  }

  /**
   * Sends `req` and resolves with its answer, or rejects with the error the
   * node raised for it, TIMEOUT after `timeoutMs`, or the stream's error.
   */
  get(req: W.GetRequest, timeoutMs: number, what: string): Promise<W.GetResponse> {
    return this.call(req, timeoutMs, what);
  }
}
