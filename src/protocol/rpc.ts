/**
 * Generic glue between grpc-js calls and plain async functions: a handler
 * never sees a call object, and nothing a handler throws (or a malformed
 * request makes it throw) can crash the process; it goes back to the caller
 * as a status with the Laminate code attached.
 */
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { LaminateError } from '../common/errors.js';
import { fromServiceError, toServiceError } from './status-codes.js';

export function unaryHandler<Req, Res>(fn: (req: Req) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (res) => callback(null, res),
        (err: unknown) => callback(toServiceError(err) as grpc.ServiceError),
      );
  };
}

/**
 * Streams what `fn` yields, honouring back-pressure from the peer. When the
 * peer cancels (or the deadline passes), `signal` aborts, a wait for 'drain'
 * ends at once, and the iterator is closed: every way out of the loop
 * (end, cancel, error) goes through `for await`, which calls the iterator's
 * `return()`, so a generator's `finally` (closing its file, say) always runs.
 */
export function streamHandler<Req>(fn: (req: Req, signal: AbortSignal) => AsyncIterable<Buffer>): grpc.handleServerStreamingCall<Req, { data: Buffer }> {
  return messageStreamHandler(async function* (req: Req, signal: AbortSignal) {
    for await (const data of fn(req, signal)) yield { data };
  });
}

/** streamHandler for any message type: streams the messages `fn` yields. */
export function messageStreamHandler<Req, Res>(fn: (req: Req, signal: AbortSignal) => AsyncIterable<Res>): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    const ac = new AbortController();
    call.on('cancelled', () => ac.abort());
    void (async () => {
      try {
        for await (const msg of fn(call.request, ac.signal)) {
          if (ac.signal.aborted) return;
          if (!call.write(msg)) {
            // Rejects with an AbortError when the call is cancelled (or on an
            // 'error' event); either way nothing more can be sent.
            const drained = await once(call, 'drain', { signal: ac.signal }).then(() => true, () => false);
            if (!drained || ac.signal.aborted) return;
          }
        }
        call.end();
      } catch (err) {
        if (!ac.signal.aborted) call.emit('error', toServiceError(err));
      }
    })();
  };
}

/** Calls a unary method of a grpc-js client as a promise, with a deadline. */
export function callUnary<Req, Res>(
  client: grpc.Client,
  method: string,
  req: Req,
  timeoutMs: number,
  what: string,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (r: Req, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, res: Res) => void) => void>)[method];
    if (!fn) {
      reject(new LaminateError('INTERNAL', `No RPC method ${method}`));
      return;
    }
    fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err) reject(fromServiceError(err, what));
      else resolve(res);
    });
  });
}

/**
 * callUnary with a serializer of the caller's own in place of the method's
 * protobufjs one (see append-encoding.ts); the answer is decoded as usual.
 */
export function callUnaryWith<Req, Res>(
  client: grpc.Client,
  method: grpc.MethodDefinition<Req, Res>,
  serialize: (req: Req) => Buffer,
  req: Req,
  timeoutMs: number,
  what: string,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(method.path, serialize, method.responseDeserialize, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err) reject(fromServiceError(err, what));
      else resolve(res!);
    });
  });
}

/** Reads a server stream of chunks as an async iterable of buffers. */
export async function* readChunks(stream: grpc.ClientReadableStream<{ data: Buffer }>, what: string): AsyncGenerator<Buffer> {
  for await (const msg of readMessages(stream, what)) yield msg.data;
}

/**
 * Reads a server stream of any message type; a failure becomes the
 * LaminateError the peer raised, and leaving the loop early cancels the call.
 */
export async function* readMessages<T>(stream: grpc.ClientReadableStream<T>, what: string): AsyncGenerator<T> {
  try {
    for await (const msg of stream as AsyncIterable<T>) yield msg;
  } catch (err) {
    throw fromServiceError(err, what);
  } finally {
    stream.cancel();
  }
}
