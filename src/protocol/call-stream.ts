/**
 * Calls multiplexed on one long-lived bidirectional stream: each request
 * carries an id and its call in one field (`get`, `invoke`), each answer the
 * id of its request with the answer or an error, answers in any order.
 * Serving.GetStream (get-stream.ts) and Functions.InvokeStream
 * (functions-rpc.ts) are this shape.
 *
 * Why: a unary call in grpc-js costs far more than its message: a new HTTP/2
 * stream, headers, trailers, a deadline timer, the call's layers of
 * listeners and an Error with a stack built when the stream closes. Measured
 * on this project's 2-core machines, a one-key Get cost ~250 us of client
 * CPU and ~220 us of server CPU that way (bench/README.md, serving). On a
 * stream a call is a message each way. Memcached's and Redis's clients
 * pipeline on one connection for the same reason; HTTP/2 already gives flow
 * control.
 *
 * Server side (callStreamHandler): each request is answered by the same
 * function the unary method calls; at most MAX_IN_FLIGHT requests of one
 * stream are being answered or waiting for the peer to read, beyond that the
 * stream is not read (HTTP/2 flow control then holds the client). An error
 * is the answer of its request alone; the stream goes on.
 *
 * Client side (CallStreamMux): one per client object. The stream is opened
 * at the first call, and ended after IDLE_MS without a call in flight (an
 * open stream would keep the caller's process alive, as an idle channel does
 * not). Each call has its own deadline. When the stream fails, every call in
 * flight on it fails with the stream's error (UNAVAILABLE for a node that
 * went away) and the next call opens a new stream. A server without the
 * streaming method (older than it) is remembered (`unsupported`), for the
 * caller to use the unary method.
 */
import * as grpc from '@grpc/grpc-js';
import { errorMessage, isErrorCode, LaminateError } from '../common/errors.js';
import { fromServiceError } from './status-codes.js';

/** Requests of one stream being answered, or answered and not yet taken by the peer, before the server stops reading it. */
export const MAX_IN_FLIGHT = 256;
/** How long the client keeps a stream with no call in flight before ending it. */
export const IDLE_MS = 2_000;

/** A request on the stream: its id and, in field F, the call (null when absent on the wire). */
export type StreamRequest<F extends string, Q> = { id: number } & { [K in F]: Q | null };
/** An answer on the stream: its request's id, and the answer or a Laminate error code and message. */
export interface StreamAnswer<A> { id: number; answer: A | null; errorCode: string; errorMessage: string }

/**
 * The server side of a call stream: `answer` answers one request (field
 * `field` of each message), as the unary method does. Who calls it: a
 * service's registration, once per method.
 */
export function callStreamHandler<F extends string, Q, A>(
  field: F, answer: (q: Q) => Promise<A>,
): grpc.handleBidiStreamingCall<StreamRequest<F, Q>, StreamAnswer<A>> {
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
    const reply = (res: StreamAnswer<A>): void => {
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
    call.on('data', (req: StreamRequest<F, Q>) => {
      inFlight++;
      flowControl();
      const id = req.id;
      const q = req[field] as Q | null;
      Promise.resolve()
        .then(() => {
          if (q === null || q === undefined) throw new LaminateError('INVALID_ARGUMENT', `Expected a stream request to carry ${field}, got request ${id} without one`);
          return answer(q);
        })
        .then(
          (a) => reply({ id, answer: a, errorCode: '', errorMessage: '' }),
          (err: unknown) => reply({ id, answer: null, errorCode: err instanceof LaminateError ? err.code : 'INTERNAL', errorMessage: errorMessage(err) }),
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

interface Pending<A> {
  readonly resolve: (r: A) => void;
  readonly reject: (e: LaminateError) => void;
  readonly timer: NodeJS.Timeout;
  readonly what: string;
}

/** Opens the bidirectional call (the client's streaming method). */
export type OpenCallStream<F extends string, Q, A> = () => grpc.ClientDuplexStream<StreamRequest<F, Q>, StreamAnswer<A>>;

/** The client side: calls in flight on one stream, by id. Safe to use concurrently (one event loop). */
export class CallStreamMux<F extends string, Q, A> {
  private stream: grpc.ClientDuplexStream<StreamRequest<F, Q>, StreamAnswer<A>> | undefined;
  private readonly pending = new Map<number, Pending<A>>();
  private nextId = 1;
  /** Ends an unused stream: armed while one is open, it looks at `lastUsed` when it fires (no timer set per call). */
  private idle: NodeJS.Timeout | undefined;
  /** When the last call was sent or settled (Date.now()). */
  private lastUsed = 0;
  private closed = false;
  /** Set when the server does not have the streaming method (an older one): the caller then uses the unary method. */
  unsupported = false;

  /** `field`: the request's field that carries the call; `idleMs`: how long an unused stream stays open (tests shorten it). */
  constructor(private readonly open: OpenCallStream<F, Q, A>, private readonly field: F, private readonly idleMs = IDLE_MS) {}

  /**
   * Sends `req` and resolves with its answer, or rejects with the error the
   * server raised for it, TIMEOUT after `timeoutMs`, or the stream's error.
   */
  call(req: Q, timeoutMs: number, what: string): Promise<A> {
    if (this.closed) return Promise.reject(new LaminateError('CANCELLED', `${what}: the client is closed`));
    const stream = this.stream ?? this.start();
    this.lastUsed = Date.now();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) reject(new LaminateError('TIMEOUT', `${what}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, what });
      stream.write({ id, [this.field]: req } as StreamRequest<F, Q>);
    });
  }

  /** Ends the stream; calls in flight fail with CANCELLED. */
  close(): void {
    this.closed = true;
    clearTimeout(this.idle);
    const stream = this.stream;
    this.stream = undefined;
    this.failAll((p) => new LaminateError('CANCELLED', `${p.what}: the client was closed`));
    stream?.cancel();
  }

  private start(): grpc.ClientDuplexStream<StreamRequest<F, Q>, StreamAnswer<A>> {
    const stream = this.open();
    this.stream = stream;
    this.armIdle(this.idleMs);
    stream.on('data', (res: StreamAnswer<A>) => this.settle(res));
    // Every way a stream ends: its calls in flight fail, and the next call opens another.
    const gone = (err: unknown): void => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      if ((err as Partial<grpc.ServiceError> | undefined)?.code === grpc.status.UNIMPLEMENTED) this.unsupported = true;
      this.failAll((p) => fromServiceError(err ?? new LaminateError('UNAVAILABLE', `${p.what}: the server ended the stream`), p.what));
    };
    stream.on('error', gone);
    stream.on('end', () => gone(undefined));
    return stream;
  }

  private settle(res: StreamAnswer<A>): void {
    const p = this.pending.get(res.id);
    // Not pending: its deadline passed (already rejected), or an id this client never sent.
    if (p === undefined) return;
    this.pending.delete(res.id);
    clearTimeout(p.timer);
    if (res.errorCode !== '') {
      p.reject(new LaminateError(isErrorCode(res.errorCode) ? res.errorCode : 'INTERNAL', res.errorMessage));
    } else if (res.answer === null || res.answer === undefined) {
      p.reject(new LaminateError('INTERNAL', `${p.what}: the server's answer ${res.id} carries neither an answer nor an error`));
    } else {
      p.resolve(res.answer);
    }
    this.lastUsed = Date.now();
  }

  private failAll(error: (p: Pending<A>) => LaminateError): void {
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
