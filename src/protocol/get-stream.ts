/**
 * Gets multiplexed on one long-lived bidirectional stream (Serving.GetStream):
 * each request carries an id, each answer the id of its request, answers in
 * any order.
 *
 * Why: a unary call in grpc-js costs far more than its message: a new HTTP/2
 * stream, headers, trailers, the call's layers of listeners and an Error
 * with a stack built when the stream closes. Measured on this project's
 * 2-core machines, a one-key Get cost ~250 us of client CPU and ~220 us of
 * server CPU that way (bench/README.md, serving), which caps a node and its
 * clients near 4,000 Gets/s whatever the serving code does. On a stream a
 * Get is a message each way. Memcached's and Redis's clients pipeline on
 * one connection for the same reason; HTTP/2 already gives flow control.
 *
 * Server side (getStreamHandler): each request is answered by the same
 * function the unary Get calls; at most MAX_IN_FLIGHT requests of one stream
 * are being answered or waiting for the peer to read, beyond that the stream
 * is not read (HTTP/2 flow control then holds the client). An error is the
 * answer of its request alone; the stream goes on.
 *
 * Client side (GetStreamMux): one per ServingClient. The stream is opened at
 * the first Get, and ended after IDLE_MS without a Get in flight (an open
 * stream would keep the caller's process alive, as an idle channel does
 * not). Each Get has its own deadline. When the stream fails, every Get in
 * flight on it fails with the stream's error (UNAVAILABLE for a node that
 * went away) and the next Get opens a new stream. A node without GetStream
 * (older than it) is remembered (`unsupported`), for the caller to use the
 * unary Get.
 */
import * as grpc from '@grpc/grpc-js';
import { errorMessage, isErrorCode, LaminateError } from '../common/errors.js';
import { fromServiceError } from './status-codes.js';
import type * as W from './view-messages.js';

/** Requests of one stream being answered, or answered and not yet taken by the peer, before the server stops reading it. */
export const MAX_IN_FLIGHT = 256;
/** How long the client keeps a stream with no Get in flight before ending it. */
export const IDLE_MS = 2_000;

/** The server side of Serving.GetStream: `get` answers one request, as the unary Get does. */
export function getStreamHandler(get: (r: W.GetRequest) => Promise<W.GetResponse>): grpc.handleBidiStreamingCall<W.GetStreamRequest, W.GetStreamResponse> {
  return (call) => {
    let inFlight = 0;
    let draining = false;
    let ended = false;
    let closed = false;
    const flowControl = (): void => {
      if (inFlight >= MAX_IN_FLIGHT || draining) call.pause();
      else call.resume();
    };
    const finish = (): void => {
      if (ended && inFlight === 0 && !closed) {
        closed = true;
        call.end();
      }
    };
    const answer = (res: W.GetStreamResponse): void => {
      if (closed) return;
      // Counted until the peer can take it: write() false means the stream's buffer is full.
      if (!call.write(res)) draining = true;
      inFlight--;
      flowControl();
      finish();
    };
    call.on('drain', () => {
      draining = false;
      flowControl();
    });
    call.on('data', (req: W.GetStreamRequest) => {
      inFlight++;
      flowControl();
      const id = req.id;
      Promise.resolve()
        .then(() => {
          if (req.get === null) throw new LaminateError('INVALID_ARGUMENT', `Expected a GetStream request to carry a get, got request ${id} without one`);
          return get(req.get);
        })
        .then(
          (a) => answer({ id, answer: a, errorCode: '', errorMessage: '' }),
          (err: unknown) => answer({ id, answer: null, errorCode: err instanceof LaminateError ? err.code : 'INTERNAL', errorMessage: errorMessage(err) }),
        );
    });
    call.on('end', () => {
      ended = true;
      finish();
    });
    // A cancelled or broken stream: nothing more can be written; answers still running are dropped.
    call.on('cancelled', () => { closed = true; });
    call.on('error', () => { closed = true; });
  };
}

interface Pending {
  readonly resolve: (r: W.GetResponse) => void;
  readonly reject: (e: LaminateError) => void;
  readonly timer: NodeJS.Timeout;
  readonly what: string;
}

/** Opens the bidirectional call (the client's `getStream` method). */
export type OpenGetStream = () => grpc.ClientDuplexStream<W.GetStreamRequest, W.GetStreamResponse>;

/** The client side: Gets in flight on one stream, by id. Safe to use concurrently (one event loop). */
export class GetStreamMux {
  private stream: grpc.ClientDuplexStream<W.GetStreamRequest, W.GetStreamResponse> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Ends an unused stream: armed while one is open, it looks at `lastUsed` when it fires (no timer set per Get). */
  private idle: NodeJS.Timeout | undefined;
  /** When the last Get was sent or settled (Date.now()). */
  private lastUsed = 0;
  private closed = false;
  /** Set when the node does not have GetStream (an older one): the caller then uses the unary Get. */
  unsupported = false;

  /** `idleMs`: how long an unused stream stays open (tests shorten it). */
  constructor(private readonly open: OpenGetStream, private readonly idleMs = IDLE_MS) {}

  /**
   * Sends `req` and resolves with its answer, or rejects with the error the
   * node raised for it, TIMEOUT after `timeoutMs`, or the stream's error.
   */
  get(req: W.GetRequest, timeoutMs: number, what: string): Promise<W.GetResponse> {
    if (this.closed) return Promise.reject(new LaminateError('CANCELLED', `${what}: the client is closed`));
    const stream = this.stream ?? this.start();
    this.lastUsed = Date.now();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) reject(new LaminateError('TIMEOUT', `${what}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, what });
      stream.write({ id, get: req });
    });
  }

  /** Ends the stream; Gets in flight fail with CANCELLED. */
  close(): void {
    this.closed = true;
    clearTimeout(this.idle);
    const stream = this.stream;
    this.stream = undefined;
    this.failAll((p) => new LaminateError('CANCELLED', `${p.what}: the client was closed`));
    stream?.cancel();
  }

  private start(): grpc.ClientDuplexStream<W.GetStreamRequest, W.GetStreamResponse> {
    const stream = this.open();
    this.stream = stream;
    this.armIdle(this.idleMs);
    stream.on('data', (res: W.GetStreamResponse) => this.settle(res));
    // Every way a stream ends: its Gets in flight fail, and the next Get opens another.
    const gone = (err: unknown): void => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      if ((err as Partial<grpc.ServiceError> | undefined)?.code === grpc.status.UNIMPLEMENTED) this.unsupported = true;
      this.failAll((p) => fromServiceError(err ?? new LaminateError('UNAVAILABLE', `${p.what}: the node ended the stream`), p.what));
    };
    stream.on('error', gone);
    stream.on('end', () => gone(undefined));
    return stream;
  }

  private settle(res: W.GetStreamResponse): void {
    const p = this.pending.get(res.id);
    // Not pending: its deadline passed (already rejected), or an id this client never sent.
    if (p === undefined) return;
    this.pending.delete(res.id);
    clearTimeout(p.timer);
    if (res.errorCode !== '') {
      p.reject(new LaminateError(isErrorCode(res.errorCode) ? res.errorCode : 'INTERNAL', res.errorMessage));
    } else if (res.answer === null) {
      p.reject(new LaminateError('INTERNAL', `${p.what}: the node's answer ${res.id} carries neither an answer nor an error`));
    } else {
      p.resolve(res.answer);
    }
    this.lastUsed = Date.now();
  }

  private failAll(error: (p: Pending) => LaminateError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(error(p));
    }
  }

  /** Looks again in `ms`: ends the stream if nothing is in flight and nothing was sent or answered for idleMs. */
  private armIdle(ms: number): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      const stream = this.stream;
      if (stream === undefined) return;
      const quiet = Date.now() - this.lastUsed;
      if (this.pending.size > 0 || quiet < this.idleMs) {
        this.armIdle(this.pending.size > 0 ? this.idleMs : this.idleMs - quiet);
        return;
      }
      this.stream = undefined;
      stream.end();
    }, ms);
    this.idle.unref();
  }
}
