import { afterEach, describe, expect, it } from 'vitest';
import type { BoundServer } from '../../../src/protocol/master-rpc.js';
import type { FetchPartitionRequest } from '../../../src/protocol/messages.js';
import { serveShuffle, ShuffleClient } from '../../../src/protocol/shuffle-rpc.js';

/** A promise and the function that settles it. */
function latch(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((r) => { fire = r; });
  return { promise, fire };
}

describe('streamHandler', () => {
  const open: Array<{ server: BoundServer; client: ShuffleClient }> = [];
  afterEach(async () => {
    for (const { server, client } of open.splice(0)) {
      client.close();
      await server.close(100);
    }
  });

  async function serve(fetchPartition: (req: FetchPartitionRequest, signal: AbortSignal) => AsyncIterable<Buffer>): Promise<ShuffleClient> {
    const server = await serveShuffle({ fetchPartition }, '127.0.0.1', 0);
    const client = new ShuffleClient(`127.0.0.1:${server.port}`);
    open.push({ server, client });
    return client;
  }

  const req = { mapAttemptId: 'job-0001-m-00000-a1', partition: 0, offset: 0, length: 0, workerId: 'worker-0001' };

  it('closes the generator when the client cancels while the server waits for drain', async () => {
    let closed = false;
    let signalAborted = false;
    const ended = latch();
    const stalled = latch();
    const client = await serve(async function* (_req, signal) {
      try {
        // Far more than the flow-control windows hold, so writes back up while the client reads nothing.
        for (;;) {
          let resumed = false;
          // A write that went through resumes this generator within the same
          // turn of the event loop; one that did not (the server now waits for
          // 'drain') leaves it suspended past it.
          setImmediate(() => { if (!resumed) stalled.fire(); });
          yield Buffer.alloc(1 << 20, 1);
          resumed = true;
        }
      } finally {
        signalAborted = signal.aborted;
        closed = true;
        ended.fire();
      }
    });
    const stream = client.fetch(req, 30_000);
    const first = await stream.next();
    expect(first.done).toBe(false);
    // The server fills the windows and stops at a write that returns false.
    await stalled.promise;
    expect(closed).toBe(false);
    await stream.return(undefined); // cancels the call
    await ended.promise;
    expect(signalAborted).toBe(true);
  });

  it('closes the generator when the stream ends normally', async () => {
    let closed = 0;
    const ended = latch();
    const client = await serve(async function* () {
      try {
        yield Buffer.from('a');
        yield Buffer.from('b');
      } finally {
        closed++;
        ended.fire();
      }
    });
    const got: string[] = [];
    for await (const chunk of client.fetch(req, 5_000)) got.push(chunk.toString());
    expect(got).toEqual(['a', 'b']);
    await ended.promise;
    expect(closed).toBe(1);
  });

  it('sends what the generator throws to the client with its code', async () => {
    const { LaminateError } = await import('../../../src/common/errors.js');
    const client = await serve(async function* () {
      yield Buffer.from('a');
      throw new LaminateError('NOT_FOUND', 'no such map output');
    });
    const got: string[] = [];
    let caught: unknown;
    try {
      for await (const chunk of client.fetch(req, 5_000)) got.push(chunk.toString());
    } catch (err) {
      caught = err;
    }
    expect(got).toEqual(['a']);
    expect(caught).toMatchObject({ name: 'LaminateError', code: 'NOT_FOUND', message: 'no such map output' });
  });
});
