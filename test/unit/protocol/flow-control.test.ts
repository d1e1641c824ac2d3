import * as http2 from 'node:http2';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { FLOW_CONTROL_WINDOW_BYTES, newServer } from '../../../src/protocol/flow-control.js';
import { bindServer, type BoundServer } from '../../../src/protocol/master-rpc.js';

describe('newServer', () => {
  let bound: BoundServer | undefined;
  let session: http2.ClientHttp2Session | undefined;
  afterEach(async () => {
    session?.destroy();
    await bound?.close(0);
  });

  it('advertises the wide stream window and opens the connection window to it', async () => {
    bound = await bindServer(newServer(), '127.0.0.1', 0);
    session = http2.connect(`http://127.0.0.1:${bound.port}`);
    const [settings] = (await once(session, 'remoteSettings')) as [http2.Settings];
    expect(settings.initialWindowSize).toBe(FLOW_CONTROL_WINDOW_BYTES);
    // The server sends its WINDOW_UPDATE when the session starts, so it has
    // reached the client by the time the server answers a PING.
    const s = session;
    await new Promise<void>((resolve, reject) => s.ping((err) => (err ? reject(err) : resolve())));
    expect(s.state.remoteWindowSize).toBeGreaterThanOrEqual(FLOW_CONTROL_WINDOW_BYTES);
  });
});
