import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planJobInputs, resolveCut } from '../../../src/master/job-inputs.js';
import { resolveJobSpec } from '../../../src/master/job-spec.js';
import type { SubmitJobRequest } from '../../../src/protocol/messages.js';
import { appendOne, batchOf, openStore, records, rejectsWith, throwsWith, useTempDirs } from '../dataset/helpers.js';

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function request(over: Partial<SubmitJobRequest>): SubmitJobRequest {
  return {
    name: 'j', bundle: Buffer.alloc(0), inputs: [], outputDir: '/out', reducers: 1, format: '',
    splitSize: 0, speculation: false, mapMemoryMb: 0, reduceMemoryMb: 0, taskTimeoutMs: 0, splitPoints: [], ...over,
  };
}

describe('job inputs at submission', () => {
  const tempDir = useTempDirs();

  async function storeWithDataset() {
    const store = await openStore(await tempDir());
    await store.createDataset('clicks', { partitions: 4 });
    await appendOne(store, batchOf('clicks', 0, records('a', 0, 5)));
    await appendOne(store, batchOf('clicks', 2, records('c', 0, 3)));
    return store;
  }

  it('takes every durable record for dataset:NAME, and checks a given cut against the dataset', async () => {
    const store = await storeWithDataset();
    expect(resolveCut('dataset:clicks', store)).toEqual({ dataset: 'clicks', offsets: [5, 0, 3, 0] });
    expect(resolveCut('dataset:clicks@2,0,3,0', store)).toEqual({ dataset: 'clicks', offsets: [2, 0, 3, 0] });
    throwsWith(() => resolveCut('dataset:nope', store), 'NOT_FOUND', /Expected an existing dataset, got 'nope'/);
    throwsWith(() => resolveCut('dataset:clicks@1,2', store), 'INVALID_ARGUMENT', /^Expected a cut of 4 offsets \(one per partition of dataset 'clicks'\), got 2 offsets$/);
    throwsWith(() => resolveCut('dataset:clicks@5,0,4,0', store), 'OUT_OF_RANGE', /^Expected the cut's offset for partition 2 of dataset 'clicks' to be at most its end 3, got 4$/);
    await store.close();
  });

  it('records the cuts in the spec and makes one split per partition with records (small partitions)', async () => {
    const store = await storeWithDataset();
    const requested = resolveJobSpec(request({ inputs: ['dataset:clicks@4,0,3,0'] }), compare);
    const { spec, splits } = await planJobInputs(requested, store);
    expect(spec.cuts).toEqual([{ dataset: 'clicks', offsets: [4, 0, 3, 0] }]);
    expect(splits).toEqual([
      { kind: 'dataset', dataset: 'clicks', partition: 0, startOffset: 0, endOffset: 4 },
      { kind: 'dataset', dataset: 'clicks', partition: 2, startOffset: 0, endOffset: 3 },
    ]);
    // A dataset appended to after submission does not change what the job reads.
    await appendOne(store, batchOf('clicks', 1, records('b', 0, 2)));
    expect(spec.cuts).toEqual([{ dataset: 'clicks', offsets: [4, 0, 3, 0] }]);
    await store.close();
  });

  it('plans file inputs as before, with no cuts', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.txt'), 'x\n'.repeat(100));
    const store = await storeWithDataset();
    const { spec, splits } = await planJobInputs(resolveJobSpec(request({ inputs: [join(dir, 'a.txt')], splitSize: 50 }), compare), store);
    expect(spec.cuts).toEqual([]);
    expect(splits.map((s) => (s.kind === 'file' ? [s.start, s.length] : []))).toEqual([[0, 50], [50, 50], [100, 50], [150, 50]]);
    await rejectsWith(planJobInputs(resolveJobSpec(request({ inputs: [join(dir, 'missing')] }), compare), store), 'NOT_FOUND', /does not exist/);
    await store.close();
  });
});
