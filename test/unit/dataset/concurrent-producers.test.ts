import { describe, expect, it } from 'vitest';
import type { AppendBatch } from '../../../src/dataset/types.js';
import { batchOf, intBelow, openStore, readAll, rng, useTempDirs } from './helpers.js';

interface Sent {
  readonly producer: string;
  readonly records: unknown[];
  readonly partition: number;
  readonly firstOffset: number;
}

describe('concurrent producers', () => {
  const tempDir = useTempDirs();

  it('reads back every partition exactly as each producer was acknowledged, retries included, after a reopen too', async () => {
    const dir = await tempDir();
    const options = { segmentBytes: 8 * 1024, maxInFlightBytes: 32 * 1024 };
    let store = await openStore(dir, options);
    const partitions = 3;
    await store.createDataset('events', { partitions });
    const acknowledged: Sent[] = [];

    // Four producers, each with its own sequence per partition, sending calls of 1 to 3 batches,
    // and now and then repeating its previous call as a client does after a lost acknowledgement.
    const producer = async (name: string, seed: number): Promise<void> => {
      const random = rng(seed);
      const next = new Array<number>(partitions).fill(0);
      let previous: AppendBatch[] | undefined;
      let n = 0;
      for (let call = 0; call < 40; call++) {
        if (previous !== undefined && random() < 0.15) {
          const again = await store.append(previous);
          expect(again.every((r) => r.duplicate)).toBe(true);
          continue;
        }
        const used = new Set<number>();
        const batches: AppendBatch[] = [];
        const sent: unknown[][] = [];
        for (let b = 1 + intBelow(random, 3); b > 0; b--) {
          const partition = intBelow(random, partitions);
          if (used.has(partition)) continue; // one batch per partition per call keeps sequences in order
          used.add(partition);
          const recs = Array.from({ length: 1 + intBelow(random, 20) }, () => ({ producer: name, n: n++, pad: 'p'.repeat(intBelow(random, 80)) }));
          batches.push(batchOf('events', partition, recs, { id: name, sequence: next[partition]! }));
          sent.push(recs);
          next[partition]! += recs.length;
        }
        const results = await store.append(batches);
        results.forEach((r, i) => {
          expect(r.duplicate).toBe(false);
          acknowledged.push({ producer: name, records: sent[i]!, partition: r.partition, firstOffset: r.firstOffset });
        });
        previous = batches;
      }
    };
    await Promise.all(['p1', 'p2', 'p3', 'p4'].map((name, i) => producer(name, 100 + i)));

    // The model: each partition is the acknowledged batches placed at their offsets, with no gap and no overlap.
    const expected: unknown[][] = Array.from({ length: partitions }, () => []);
    for (let p = 0; p < partitions; p++) {
      const mine = acknowledged.filter((s) => s.partition === p).sort((a, b) => a.firstOffset - b.firstOffset);
      for (const s of mine) {
        expect(s.firstOffset).toBe(expected[p]!.length);
        expected[p]!.push(...s.records);
      }
    }
    for (let round = 0; round < 2; round++) {
      for (let p = 0; p < partitions; p++) expect(await readAll(store, 'events', p, 1000)).toEqual(expected[p]);
      expect(store.currentCut('events')).toEqual(expected.map((e) => e.length));
      // Each producer's records appear in the order it sent them, on every partition.
      for (const name of ['p1', 'p2', 'p3', 'p4']) {
        for (let p = 0; p < partitions; p++) {
          const ns = (expected[p] as { producer: string; n: number }[]).filter((r) => r.producer === name).map((r) => r.n);
          expect(ns).toEqual([...ns].sort((a, b) => a - b));
        }
      }
      await store.close();
      store = await openStore(dir, options);
    }
    await store.close();
  });
});
