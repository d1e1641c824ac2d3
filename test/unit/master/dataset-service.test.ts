import { describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { LaminateClient } from '../../../src/client/index.js';
import { ManualClock } from '../../../src/common/clock.js';
import { LaminateError } from '../../../src/common/errors.js';
import { silentLogger } from '../../../src/common/logger.js';
import { decodeBody, encodeBody } from '../../../src/storage/record-body.js';
import { createDatasetService, MAX_BATCHES_PER_APPEND } from '../../../src/master/dataset-service.js';
import type { ReadChunk } from '../../../src/protocol/dataset-rpc.js';
import { bindServer } from '../../../src/protocol/master-rpc.js';
import { MemoryDatasetStore } from '../../support/memory-dataset-store.js';

async function setup(partitions = 1): Promise<{ store: MemoryDatasetStore; service: ReturnType<typeof createDatasetService> }> {
  const store = new MemoryDatasetStore();
  await store.createDataset('d', { partitions });
  return { store, service: createDatasetService(store, silentLogger()) };
}

const batch = (records: unknown[], partition = 0): { dataset: string; partition: number; body: Buffer; count: number } =>
  ({ dataset: 'd', partition, body: encodeBody(records), count: records.length });

describe('the dataset service', () => {
  it('stamps every chunk with the store\'s time of its end, and sends a follower at the end an empty chunk each idle interval', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('d', { partitions: 1 });
    const clock = new ManualClock(5000);
    const service = createDatasetService(store, silentLogger(), { clock, followIdleMs: 20 });
    await service.handlers.append([batch([{ n: 0 }, { n: 1 }])]);
    const abort = new AbortController();
    const it = service.handlers.read({ dataset: 'd', partition: 0, from: 0, follow: true }, abort.signal)[Symbol.asyncIterator]();
    const first = (await it.next()).value as ReadChunk;
    expect([first.count, first.endOffset, first.readAtMs]).toEqual([2, 2, 5000]);
    clock.advance(2000);
    // Nothing appended: after the idle interval, an empty chunk saying the end (2) is still the end at 7000.
    const idle = (await it.next()).value as ReadChunk;
    expect([idle.count, idle.firstOffset, idle.endOffset, idle.readAtMs]).toEqual([0, 2, 2, 7000]);
    clock.advance(500);
    await service.handlers.append([batch([{ n: 2 }])]);
    const next = (await it.next()).value as ReadChunk;
    expect([next.count, next.firstOffset, next.endOffset, next.readAtMs]).toEqual([1, 2, 3, 7500]);
    abort.abort();
    await it.return?.(undefined);
    await service.close();
  });

  it('follows a partition: waits at the end, streams what is appended, and stops at the end offset asked for', async () => {
    const { service } = await setup();
    await service.handlers.append([batch([{ n: 0 }, { n: 1 }])]);
    const chunks: ReadChunk[] = [];
    const reading = (async () => {
      for await (const c of service.handlers.read({ dataset: 'd', partition: 0, from: 1, endOffset: 4, follow: true }, new AbortController().signal)) chunks.push(c);
    })();
    await service.handlers.append([batch([{ n: 2 }])]);
    await service.handlers.append([batch([{ n: 3 }, { n: 4 }])]);
    await reading;
    expect(chunks.flatMap((c) => decodeBody(c.body))).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(chunks.at(-1)!.nextOffset).toBe(4);
  });

  it('ends a follower with CANCELLED when its call is cancelled, and with UNAVAILABLE when the service closes', async () => {
    const { store, service } = await setup();
    /** A follow read at the end: its first chunk is the empty one saying it is open; the next waits. */
    const follow = async (signal: AbortSignal): Promise<{ next: Promise<unknown> }> => {
      const it = service.handlers.read({ dataset: 'd', partition: 0, from: 0, follow: true }, signal)[Symbol.asyncIterator]();
      expect((await it.next()).value).toMatchObject({ count: 0, nextOffset: 0, endOffset: 0 });
      return { next: it.next() };
    };
    const cancelled = new AbortController();
    const gone = await follow(cancelled.signal);
    cancelled.abort();
    await expect(gone.next).rejects.toMatchObject({ code: 'CANCELLED' });

    const open = await follow(new AbortController().signal);
    await service.close();
    await expect(open.next).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'The dataset service is shutting down' });
    await expect(service.handlers.append([batch([{ late: true }])])).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(() => service.handlers.listDatasets()).toThrow(LaminateError);
    // The store was closed with the service.
    await expect(store.append([batch([{ late: true }])])).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await service.close();
  });

  it('bounds the batches of one append, and tells a producer where it left off on every partition', async () => {
    const { service } = await setup(3);
    await expect(service.handlers.append([])).rejects.toThrow(`Expected 1 to ${MAX_BATCHES_PER_APPEND} batches in an append, got 0`);
    const many = Array.from({ length: MAX_BATCHES_PER_APPEND + 1 }, () => batch([{ x: 1 }]));
    await expect(service.handlers.append(many)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await service.handlers.append([{ ...batch([{ a: 1 }, { a: 2 }], 2), producerId: 'p', sequence: 0 }]);
    expect(await service.handlers.initProducer('d', 'p')).toEqual([
      { partition: 0, nextSequence: 0 }, { partition: 1, nextSequence: 0 }, { partition: 2, nextSequence: 2 },
    ]);
    expect(() => service.handlers.initProducer('d', '')).toThrow('Expected a producer id, got an empty string');
  });

  it('lets its server shut down while a client follows, and the client hears UNAVAILABLE once it gives up reconnecting', async () => {
    const { service } = await setup();
    const server = new grpc.Server();
    service.registration(server);
    const bound = await bindServer(server, '127.0.0.1', 0);
    const client = new LaminateClient(`127.0.0.1:${bound.port}`);
    try {
      await client.append('d', [{ first: true }]);
      let onFirst = (): void => {};
      const first = new Promise<void>((r) => { onFirst = r; });
      const following = (async () => {
        for await (const _ of client.read('d', { partition: 0, follow: true, retryTimeoutMs: 300 })) onFirst();
      })();
      await first;
      await service.close();
      await bound.close(60_000);
      await expect(following).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      await client.close();
    }
  });
});
