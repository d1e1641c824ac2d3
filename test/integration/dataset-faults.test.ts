import { afterEach, describe, expect, it } from 'vitest';
import { LaminateClient, type ReadRecord } from '../../src/client/index.js';
import type { RecordAck } from '../../src/client/producer.js';
import { freePort, removeDir, startMasterProc, tempDir, type MasterProc } from './harness.js';

interface Event { readonly id: number; readonly user: string; readonly pad: string }

describe('a master killed during a stream of appends', () => {
  let dir: string;
  const masters: MasterProc[] = [];
  const clients: LaminateClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const m of masters.splice(0)) await m.kill();
    await removeDir(dir);
  });

  it('keeps every acknowledged record exactly once once it restarts, the producer retrying through the outage', async () => {
    dir = await tempDir();
    const port = await freePort();
    masters.push(await startMasterProc(dir, { port }));
    const client = new LaminateClient(masters[0]!.address);
    clients.push(client);
    await client.createDataset('events', { partitions: 3 });

    // Small batches and a small buffer: many batches are in flight or queued when the master dies.
    const producer = client.producer('events', { producerId: 'fault-test', lingerMs: 2, maxBatchBytes: 8 * 1024, bufferBytes: 64 * 1024 });
    const total = 30_000;
    const acks = new Map<number, RecordAck>();
    const settled: Array<Promise<void>> = [];
    let onAck = (): void => {};
    let killedAt: { sent: number; acked: number } | undefined;
    let sent = 0;

    const outage = (async () => {
      // Kill once a few thousand records are acknowledged, whatever the timing.
      await new Promise<void>((resolve) => {
        onAck = () => { if (acks.size >= 3000) resolve(); };
        onAck();
      });
      onAck = () => {};
      await masters[0]!.kill('SIGKILL');
      killedAt = { sent, acked: acks.size };
      masters.push(await startMasterProc(dir, { port }));
    })();

    for (let id = 0; id < total; id++) {
      const event: Event = { id, user: `u${id % 17}`, pad: 'p'.repeat(id % 50) };
      await producer.ready();
      settled.push(producer.send(event).then((ack) => { acks.set(id, ack); onAck(); }));
      sent++;
    }
    await outage;
    await producer.flush();
    await Promise.all(settled);

    // The kill came mid-stream: records were sent but not yet acknowledged then.
    expect(killedAt!.acked).toBeLessThan(killedAt!.sent);
    expect(killedAt!.sent).toBeLessThan(total);
    expect(acks.size).toBe(total);

    // Every acknowledged record is where its acknowledgement says, once; nothing else is there.
    const stored: ReadRecord[] = [];
    for (let p = 0; p < 3; p++) for await (const r of client.read('events', { partition: p })) stored.push(r);
    expect(stored).toHaveLength(total);
    const ids = new Set<number>();
    for (const r of stored) {
      const e = r.record as Event;
      expect(ids.has(e.id)).toBe(false);
      ids.add(e.id);
      expect(acks.get(e.id)).toEqual({ partition: r.partition, offset: r.offset });
      expect(e).toEqual({ id: e.id, user: `u${e.id % 17}`, pad: 'p'.repeat(e.id % 50) });
    }
    expect(ids.size).toBe(total);
    const d = await client.describeDataset('events');
    expect(d.partitions.reduce((n, p) => n + p.endOffset, 0)).toBe(total);
  });

  it('lets a follower ride out a master restart: it resumes at the next offset, missing and repeating nothing', async () => {
    dir = await tempDir();
    const port = await freePort();
    masters.push(await startMasterProc(dir, { port }));
    const client = new LaminateClient(masters[0]!.address);
    clients.push(client);
    await client.createDataset('tail', { partitions: 1 });
    const ac = new AbortController();
    const seen: ReadRecord[] = [];
    let onSeen = (): void => {};
    const follower = (async () => {
      for await (const r of client.read('tail', { partition: 0, follow: true, signal: ac.signal })) {
        seen.push(r);
        onSeen();
      }
    })();
    const seenUpTo = (n: number): Promise<void> => new Promise((resolve) => {
      onSeen = () => { if (seen.length >= n) resolve(); };
      onSeen();
    });
    await client.append('tail', Array.from({ length: 50 }, (_, k) => ({ k })));
    await seenUpTo(50);
    await masters[0]!.kill('SIGKILL');
    masters.push(await startMasterProc(dir, { port }));
    await client.append('tail', Array.from({ length: 50 }, (_, k) => ({ k: 50 + k })));
    await seenUpTo(100);
    ac.abort();
    await follower;
    expect(seen.map((r) => [r.offset, r.record])).toEqual(Array.from({ length: 100 }, (_, k) => [k, { k }]));
  });
});
