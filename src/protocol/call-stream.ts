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
 * function the unary method calls; once MAX_IN_FLIGHT requests of one
 * stream are being answered or waiting for the peer to read, the stream is
 * not read (HTTP/2 flow control then holds the client): at most
 * MAX_IN_FLIGHT + MAX_BATCH - 1, as the last message read may be a batch. An error
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
 *
 * Batches: calls issued in one turn of the client's event loop go in ONE
 * message (its `batch` field), and the answers the server has ready in one
 * turn of its loop go back in one message, so grpc-js's cost per message
 * (serialize, frame, write, the HTTP/2 DATA frame, the read on the other
 * side) is paid per batch, as Kafka's producer and Redis's pipelines batch
 * on one connection. Ids, deadlines and errors stay per call. Both sides say
 * that they read batches in a header (BATCH_HEADER: the client in its
 * request metadata, the server in its response metadata, sent as the stream
 * opens); each sends batches only to a peer that said so, so an older peer
 * keeps getting one call per message. A batch is flushed with setImmediate
 * (after the I/O callbacks of the turn), or at once at MAX_BATCH calls.
 *
 * Deadlines: one timer per client, armed for the earliest deadline in flight
 * (not a timer per call: a setTimeout and a clearTimeout per Get were a
 * visible share of a Get's client CPU); when it fires it fails the calls
 * whose deadline passed and arms itself for the next.
 */
import * as grpc from '@grpc/grpc-js';
import { errorMessage, isErrorCode, LaminateError } from '../common/errors.js';
import { fromServiceError } from './status-codes.js';
import { PendingCalls } from './pending-calls.js';

/** Requests of one stream being answered, or answered and not yet taken by the peer, before the server stops reading it. */
export const MAX_IN_FLIGHT = 256;
/** How long the client keeps a stream with no call in flight before ending it. */
export const IDLE_MS = 2_000;
/** Calls (or answers) at most in one message: a batch this long is sent at once rather than at the end of the turn. */
export const MAX_BATCH = 128;
/** The header by which each side says it reads batched messages (value '1'). */
export const BATCH_HEADER = 'laminate-call-batch';

/** A request on the stream: its id and, in field F, the call (null when absent on the wire); or, in `batch`, several such requests (then id and F are unused). */
export type StreamRequest<F extends string, Q> = { id: number; batch?: StreamRequest<F, Q>[] } & { [K in F]: Q | null };
/** An answer on the stream: its request's id, and the answer or a Laminate error code and message; or, in `batch`, several such answers. */
export interface StreamAnswer<A> { id: number; answer: A | null; errorCode: string; errorMessage: string; batch?: StreamAnswer<A>[] }

/** Whether `md` carries BATCH_HEADER. */
function saysBatch(md: grpc.Metadata | undefined): boolean {
  return md?.get(BATCH_HEADER)[0] === '1';
}

/** Metadata carrying BATCH_HEADER. */
export function batchMetadata(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(BATCH_HEADER, '1');
  return md;
}

/**
 * The server side of a call stream: `answer` answers one request (field
 * `field` of each message), as the unary method does. Who calls it: a
 * service's registration, once per method.
 */
export function callStreamHandler<F extends string, Q, A>(
  field: F, answer: (q: Q) => Promise<A>,
): grpc.handleBidiStreamingCall<StreamRequest<F, Q>, StreamAnswer<A>> {
  return (call) => {
    // Answers go back batched only to a client that said it reads batches.
    const batching = saysBatch(call.metadata);
    call.sendMetadata(batchMetadata());
    let inFlight = 0;
    let draining = false;
    let ended = false;
    let closed = false;
    /** Answers ready, not yet written (batching only). */
    let outbox: StreamAnswer<A>[] = [];
    let flushing: NodeJS.Immediate | undefined;
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
    // Counted until the peer can take them: write() false means the stream's buffer is full.
    const write = (msg: StreamAnswer<A>, answers: number): void => {
      if (!call.write(msg)) draining = true;
      inFlight -= answers;
      flowControl();
      finish();
    };
    const flush = (): void => {
      flushing = undefined;
      const out = outbox;
      outbox = [];
      if (closed || out.length === 0) return;
      write(out.length === 1 ? out[0]! : { id: 0, answer: null, errorCode: '', errorMessage: '', batch: out }, out.length);
    };
    const reply = (res: StreamAnswer<A>): void => {
      if (closed) return;
      if (!batching) {
        write(res, 1);
        return;
      }
      outbox.push(res);
      if (outbox.length >= MAX_BATCH) {
        clearImmediate(flushing);
        flush();
      } else {
        flushing ??= setImmediate(flush);
      }
    };
    const run = (req: StreamRequest<F, Q>): void => {
      const id = req.id;
      const q = req[field] as Q | null;
      if (q === null || q === undefined) {
        reply({ id, answer: null, errorCode: 'INVALID_ARGUMENT', errorMessage: `Expected a stream request to carry ${field}, got request ${id} without one` });
        return;
      }
      let pending: Promise<A>;
      try {
        pending = answer(q);
      } catch (err) {
        pending = Promise.reject(err);
      }
      pending.then(
        (a) => reply({ id, answer: a, errorCode: '', errorMessage: '' }),
        (err: unknown) => reply({ id, answer: null, errorCode: err instanceof LaminateError ? err.code : 'INTERNAL', errorMessage: errorMessage(err) }),
      );
    };
    call.on('drain', () => {
      draining = false;
      flowControl();
    });
    call.on('data', (req: StreamRequest<F, Q>) => {
      const batch = req.batch;
      if (batch !== undefined && batch.length > 0) {
        inFlight += batch.length;
        flowControl();
        for (const r of batch) run(r);
      } else {
        inFlight++;
        flowControl();
        run(req);
      }
    });
    call.on('end', () => {
      ended = true;
      finish();
    });
    // A cancelled or broken stream: nothing more can be written; answers still running are dropped.
    const gone = (): void => {
      closed = true;
      clearImmediate(flushing);
      outbox = [];
    };
    call.on('cancelled', gone);
    call.on('error', gone);
  };
}

interface Pending<A> {
  readonly resolve: (r: A) => void;
  readonly reject: (e: LaminateError) => void;
  /** performance.now() past which the call fails with TIMEOUT. */
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly what: string;
}

/** Opens the bidirectional call (the client's streaming method) with `metadata` as its request headers. */
export type OpenCallStream<F extends string, Q, A> = (metadata: grpc.Metadata) => grpc.ClientDuplexStream<StreamRequest<F, Q>, StreamAnswer<A>>;

/** The client side: calls in flight on one stream, by id. Safe to use concurrently (one event loop). */
export class CallStreamMux<F extends string, Q, A> {
  private stream: grpc.ClientDuplexStream<StreamRequest<F, Q>, StreamAnswer<A>> | undefined;
  /** Whether the current stream's server said it reads batches (its response headers). */
  private batching = false;
  /** Requests of the current stream not yet written (batching only), and the flush that will write them. */
  private outbox: StreamRequest<F, Q>[] = [];
  private flushing: NodeJS.Immediate | undefined;
  /** Calls in flight by id (not a Map: pending-calls.ts says why). */
  private readonly pending = new PendingCalls<Pending<A>>();
  private nextId = 1;
  /** Ends an unused stream: armed while one is open, it looks at `lastUsed` when it fires (no timer set per call). */
  private idle: NodeJS.Timeout | undefined;
  /** When the last call was sent or settled (Date.now()). */
  private lastUsed = 0;
  /** The one deadline timer, and the deadline it is armed for. */
  private sweep: NodeJS.Timeout | undefined;
  private sweepAt = Infinity;
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
    const deadline = performance.now() + timeoutMs;
    if (deadline < this.sweepAt) this.armSweep(deadline);
    return new Promise((resolve, reject) => {
      this.pending.add(id, { resolve, reject, deadline, timeoutMs, what });
      const msg = { id, [this.field]: req } as StreamRequest<F, Q>;
      if (!this.batching) {
        stream.write(msg);
        return;
      }
      this.outbox.push(msg);
      if (this.outbox.length >= MAX_BATCH) {
        clearImmediate(this.flushing);
        this.flush();
      } else {
        this.flushing ??= setImmediate(() => this.flush());
      }
    });
  }

  /** Ends the stream; calls in flight fail with CANCELLED. */
  close(): void {
    this.closed = true;
    clearTimeout(this.idle);
    const stream = this.stream;
    this.stream = undefined;
    this.dropOutbox();
    this.failAll((p) => new LaminateError('CANCELLED', `${p.what}: the client was closed`));
    stream?.cancel();
  }

  /** Writes the requests queued in this turn, in one message when there are several. */
  private flush(): void {
    this.flushing = undefined;
    const out = this.outbox;
    this.outbox = [];
    const stream = this.stream;
    if (stream === undefined || out.length === 0) return;
    stream.write(out.length === 1 ? out[0]! : ({ id: 0, [this.field]: null, batch: out } as StreamRequest<F, Q>));
  }

  private dropOutbox(): void {
    clearImmediate(this.flushing);
    this.flushing = undefined;
    this.outbox = [];
  }

  private start(): grpc.ClientDuplexStream<StreamRequest<F, Q>, StreamAnswer<A>> {
    const stream = this.open(batchMetadata());
    this.stream = stream;
    this.batching = false;
    this.armIdle(this.idleMs);
    stream.on('metadata', (md: grpc.Metadata) => {
      if (this.stream === stream && saysBatch(md)) this.batching = true;
    });
    stream.on('data', (res: StreamAnswer<A>) => {
      const batch = res.batch;
      if (batch !== undefined && batch.length > 0) for (const r of batch) this.settle(r);
      else this.settle(res);
      this.lastUsed = Date.now();
    });
    // Every way a stream ends: its calls in flight fail, and the next call opens another.
    const gone = (err: unknown): void => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.dropOutbox();
      if ((err as Partial<grpc.ServiceError> | undefined)?.code === grpc.status.UNIMPLEMENTED) this.unsupported = true;
      this.failAll((p) => fromServiceError(err ?? new LaminateError('UNAVAILABLE', `${p.what}: the server ended the stream`), p.what));
    };
    stream.on('error', gone);
    stream.on('end', () => gone(undefined));
    return stream;
  }

  private settle(res: StreamAnswer<A>): void {
    const p = this.pending.take(res.id);
    // Not pending: its deadline passed (already rejected), or an id this client never sent.
    if (p === undefined) return;
    if (res.errorCode !== '') {
      p.reject(new LaminateError(isErrorCode(res.errorCode) ? res.errorCode : 'INTERNAL', res.errorMessage));
    } else if (res.answer === null || res.answer === undefined) {
      p.reject(new LaminateError('INTERNAL', `${p.what}: the server's answer ${res.id} carries neither an answer nor an error`));
    } else {
      p.resolve(res.answer);
    }
  }

  private failAll(error: (p: Pending<A>) => LaminateError): void {
    const all = this.pending.takeAll();
    clearTimeout(this.sweep);
    this.sweep = undefined;
    this.sweepAt = Infinity;
    for (const p of all) p.reject(error(p));
  }

  /** Arms the deadline timer for `at` (performance.now() time), replacing a later one. */
  private armSweep(at: number): void {
    clearTimeout(this.sweep);
    this.sweepAt = at;
    this.sweep = setTimeout(() => this.expire(), Math.max(1, Math.ceil(at - performance.now())));
    // Not what keeps the process alive: a call in flight has an open stream, which does; a timer
    // left armed for an answered call must not hold the process until its deadline.
    this.sweep.unref();
  }

  /** Fails the calls whose deadline passed; arms the timer for the earliest deadline left. */
  private expire(): void {
    this.sweep = undefined;
    this.sweepAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [id, p] of this.pending.entries()) {
      if (p.deadline <= now) {
        this.pending.take(id);
        p.reject(new LaminateError('TIMEOUT', `${p.what}: no answer within ${p.timeoutMs} ms`));
      } else if (p.deadline < next) {
        next = p.deadline;
      }
    }
    if (next < Infinity) this.armSweep(next);
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
      this.dropOutbox();
      stream.end();
    }, ms);
    this.idle.unref();
  }
}
