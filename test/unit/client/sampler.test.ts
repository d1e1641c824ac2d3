import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { defineJob } from '../../../src/api/job.js';
import { SamplingDatasets } from '../../../src/client/dataset-inputs.js';
import { sampleSplitPoints } from '../../../src/client/sampler.js';
import { silentLogger } from '../../../src/common/logger.js';
import { createDatasetService } from '../../../src/master/dataset-service.js';
import { bindServer } from '../../../src/protocol/master-rpc.js';
import { compareKeys } from '../../../src/storage/key-order.js';
import { encodeBody } from '../../../src/storage/record-body.js';
import { MemoryDatasetStore } from '../../support/memory-dataset-store.js';

interface Rec { readonly k: string }

const job = defineJob<unknown>({
  map(r, emit) { emit((r as Rec).k, 1); },
  reduce() {},
  totalOrder: true,
});

describe('the total-order sampler over dataset inputs', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('samples only the records of a range input [FROM, CUT), not those before FROM', async () => {
    const store = new MemoryDatasetStore();
    await store.createDataset('d', { partitions: 2 });
    const service = createDatasetService(store, silentLogger());
    const server = new grpc.Server();
    service.registration(server);
    const bound = await bindServer(server, '127.0.0.1', 0);
    const datasets = new SamplingDatasets(`127.0.0.1:${bound.port}`);
    cleanups.push(async () => {
      datasets.close();
      await service.close();
      await bound.close(10_000);
    });

    // Per partition: 600 records before FROM with keys 'a-…', 300 in the range with keys 'z-…', 100 after CUT with 'q-…'.
    const pad = (n: number): string => String(n).padStart(5, '0');
    const parts: Rec[][] = [0, 1].map((p) => [
      ...Array.from({ length: 600 }, (_, i) => ({ k: `a-${p}-${pad(i)}` })),
      ...Array.from({ length: 300 }, (_, i) => ({ k: `z-${pad((i * 7919 + p * 31) % 100_000)}` })),
      ...Array.from({ length: 100 }, (_, i) => ({ k: `q-${p}-${pad(i)}` })),
    ]);
    for (let p = 0; p < 2; p++) {
      const records = parts[p]!;
      for (let i = 0; i < records.length; i += 100) await store.append([{ dataset: 'd', partition: p, body: encodeBody(records.slice(i, i + 100)), count: 100 }]);
    }

    const reducers = 4;
    const points = await sampleSplitPoints(job, {
      inputs: ['dataset:d@600,600..900,900'], format: 'dataset', splitSize: 2000, reducers, datasets, maxSplits: 10_000, maxRecords: 1_000_000,
    });
    // Independently: every key of the range, sorted, cut into `reducers` equal shares.
    const keys = parts.flatMap((r) => r.slice(600, 900).map((x) => x.k)).sort(compareKeys);
    const expected = Array.from({ length: reducers - 1 }, (_, i) => keys[Math.floor(((i + 1) * keys.length) / reducers)]!);
    expect(points).toEqual(expected);
    expect(points.every((k) => k.startsWith('z-'))).toBe(true);

    // A plain cut still samples from offset 0: the prefix's keys are there.
    const whole = await sampleSplitPoints(job, {
      inputs: ['dataset:d@900,900'], format: 'dataset', splitSize: 2000, reducers, datasets, maxSplits: 10_000, maxRecords: 1_000_000,
    });
    const all = parts.flatMap((r) => r.slice(0, 900).map((x) => x.k)).sort(compareKeys);
    expect(whole).toEqual(Array.from({ length: reducers - 1 }, (_, i) => all[Math.floor(((i + 1) * all.length) / reducers)]!));
  });
});
