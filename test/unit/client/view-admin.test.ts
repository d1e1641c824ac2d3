import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { sampleShares, ViewAdmin } from '../../../src/client/view-admin.js';
import type { DeployViewRequest } from '../../../src/common/view-shapes.js';
import type { DatasetClient } from '../../../src/protocol/dataset-rpc.js';
import type { ViewsClient } from '../../../src/protocol/view-rpc.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', '..', 'examples', 'views');

describe('the deploy sample', () => {
  it('spreads the records asked for over the partitions, small ones giving what they have', () => {
    expect(sampleShares([3000, 0, 0], 1000)).toEqual([1000, 0, 0]);
    expect(sampleShares([400, 400, 400], 900)).toEqual([300, 300, 300]);
    expect(sampleShares([10, 1000, 1000], 1000)).toEqual([10, 495, 495]);
    expect(sampleShares([5, 5], 1000)).toEqual([5, 5]);
    expect(sampleShares([], 1000)).toEqual([]);
    // Whatever the sizes, the shares sum to what is there up to n, and each stays within its partition.
    for (const sizes of [[1, 2, 3, 1000], [7, 7, 7, 7, 7], [0, 999, 1]]) {
      const s = sampleShares(sizes, 100);
      expect(s.reduce((a, b) => a + b, 0)).toBe(Math.min(100, sizes.reduce((a, b) => a + b, 0)));
      s.forEach((x, i) => expect(x).toBeLessThanOrEqual(sizes[i]!));
    }
  });
});

describe('deployView', () => {
  async function deployed(file: string): Promise<DeployViewRequest> {
    let sent: DeployViewRequest | undefined;
    const views = {
      deployView(r: DeployViewRequest) {
        sent = r;
        return Promise.resolve({ name: r.name });
      },
    } as unknown as ViewsClient;
    // An empty source: the law check runs on generated values.
    const datasets = { describeDataset: () => Promise.resolve({ partitions: [] }) } as unknown as DatasetClient;
    await new ViewAdmin(views, datasets).deployView(file);
    return sent!;
  }

  it('sends the window size of a windowed view, and 0 for a view without a window', async () => {
    expect((await deployed(join(EXAMPLES, 'page-views-per-minute.ts'))).windowSizeMs).toBe(60_000);
    expect((await deployed(join(EXAMPLES, 'page-views.ts'))).windowSizeMs).toBe(0);
  }, 60_000);
});
