/**
 * HTTP/2 flow-control windows for Laminate's channels and servers.
 *
 * HTTP/2 lets a receiver hold a sender to a window of unacknowledged bytes,
 * per stream and per connection; both default to 64 KiB, and grpc-js's
 * server has no option to change them. An Append request carries a 256 KiB
 * to 1 MiB batch, and a producer keeps several in flight on one connection:
 * with 64 KiB windows they share 64 KiB, and each 64 KiB waits for a
 * WINDOW_UPDATE from the master's event loop, so a producer measured 400 ms
 * per 256 KiB batch with both processes mostly idle. A window of several
 * batches lets the bytes flow as fast as the two event loops move them.
 *
 * Memory: grpc-js reads a whole message before it calls a handler, whatever
 * the window, so the window does not change what the master may hold; the
 * store's in-flight bound and the producers' in-flight limits do.
 */
import type * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS } from './load.js';
import { serverOptions } from './security.js';

/** Per-stream and per-connection receive window, both ways. */
export const FLOW_CONTROL_WINDOW_BYTES = 16 * 1024 * 1024;

/** For clients: grpc-js applies it to the stream and connection windows of what the client receives (read chunks, say). */
export const CLIENT_WINDOW_OPTIONS: grpc.ChannelOptions = {
  'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
};

/** The internals of grpc-js 1.14's Server this file reaches into (checked at run time). */
interface ServerInternals {
  commonServerOptions?: http2.ServerOptions;
  createHttp2Server?: (credentials: unknown) => http2.Http2Server;
}

/**
 * A grpc-js server whose HTTP/2 sessions advertise FLOW_CONTROL_WINDOW_BYTES
 * as their stream window (in their SETTINGS) and open their connection
 * window to it as soon as a client connects. If grpc-js changes shape, the
 * server works with the default windows, only slower.
 */
export function newServer(options: grpc.ServerOptions = CHANNEL_OPTIONS): grpc.Server {
  // The cluster token's check, when the process has one (security.ts), runs before every handler.
  const server = new grpc.Server(serverOptions(options));
  const internals = server as unknown as ServerInternals;
  const common = internals.commonServerOptions;
  if (common) common.settings = { ...common.settings, initialWindowSize: FLOW_CONTROL_WINDOW_BYTES };
  const create = internals.createHttp2Server;
  if (typeof create === 'function') {
    internals.createHttp2Server = (credentials: unknown): http2.Http2Server => {
      const h2 = create.call(server, credentials);
      h2.on('session', (session: http2.ServerHttp2Session) => {
        try {
          session.setLocalWindowSize(FLOW_CONTROL_WINDOW_BYTES);
        } catch {
          // A session already closing: nothing to widen.
        }
      });
      return h2;
    };
  }
  return server;
}
