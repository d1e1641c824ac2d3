import { describe, expect, it } from 'vitest';
import type { AppendBatch } from '../../../src/common/dataset-shapes.js';
import type { DatasetClient } from '../../../src/protocol/dataset-rpc.js';
import type { MasterClient } from '../../../src/protocol/master-rpc.js';
import { decodeBody } from '../../../src/storage/record-body.js';
import { masterFunctionLink } from '../../../src/worker/master-function-link.js';

/** A Dataset client that keeps what it is sent; each Append takes a turn of the event loop. */
function fakeDatasets(partitions: number): { client: DatasetClient; appends: AppendBatch[][] } {
  const appends: AppendBatch[][] = [];
  const client = {
    describeDataset: () => Promise.resolve({ name: 'out', partitions: Array.from({ length: partitions }, (_, p) => ({ partition: p })) }),
    append: async (batches: AppendBatch[]) => {
      appends.push(batches);
      await new Promise((r) => setImmediate(r));
      return batches.map((b) => ({ partition: b.partition, firstOffset: 0, count: b.count, duplicate: false, skipped: 0 }));
    },
  } as unknown as DatasetClient;
  return { client, appends };
}

describe('ctx.emit through the worker\'s master link', () => {
  it('sends the records emitted together as one Append, and each emit resolves once its batch is stored', async () => {
    const { client, appends } = fakeDatasets(2);
    const link = masterFunctionLink(() => ({}) as MasterClient, () => client, () => 'worker-1');
    const records = Array.from({ length: 50 }, (_, i) => ({ i }));
    await Promise.all(records.map((r) => link.appendToDataset('out', r)));
    expect(appends).toHaveLength(1);
    expect(appends[0]).toHaveLength(1);
    expect(appends[0]![0]!.count).toBe(50);
    expect(decodeBody(appends[0]![0]!.body)).toEqual(records);
    // Emitted while that batch is on its way: the next Append, to the next partition.
    const first = link.appendToDataset('out', { i: 50 });
    const second = link.appendToDataset('out', { i: 51 });
    await Promise.all([first, second]);
    expect(appends).toHaveLength(2);
    expect(decodeBody(appends[1]![0]!.body)).toEqual([{ i: 50 }, { i: 51 }]);
    expect(appends[1]![0]!.partition).not.toBe(appends[0]![0]!.partition);
  });

  it('refuses a record too large for the dataset at its own emit, and stores the others', async () => {
    const { client, appends } = fakeDatasets(1);
    const link = masterFunctionLink(() => ({}) as MasterClient, () => client, () => 'worker-1');
    const results = await Promise.allSettled([
      link.appendToDataset('out', { ok: 1 }),
      link.appendToDataset('out', { big: 'x'.repeat(2 * 1024 * 1024) }),
      link.appendToDataset('out', { ok: 2 }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(appends.flat().flatMap((b) => decodeBody(b.body))).toEqual([{ ok: 1 }, { ok: 2 }]);
  });
});
