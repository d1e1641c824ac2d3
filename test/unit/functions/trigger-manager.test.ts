import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/common/logger.js';
import { LogDatasetStore } from '../../../src/dataset/log-dataset-store.js';
import { TriggerManager } from '../../../src/functions/triggers/trigger-manager.js';
import { encodeBody } from '../../../src/storage/record-body.js';
import { FakeFunctions } from '../../support/fake-functions.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('laminate-trigger-manager-');
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the trigger manager', () => {
  it('starts triggers as functions are deployed, keeps their place across redeploys, and removes their state when deleted', async () => {
    const dir = await tempDir();
    const store = await LogDatasetStore.open({ dir: join(dir, 'datasets'), logger: silentLogger() });
    cleanups.push(() => store.close());
    await store.createDataset('logs', { partitions: 1 });
    const append = (n: number): Promise<unknown> => store.append([{ dataset: 'logs', partition: 0, body: encodeBody([{ n }]), count: 1 }]);
    const fns = new FakeFunctions();
    fns.deploy('before', [{ kind: 'dataset', dataset: 'logs', batchSize: 10 }, { kind: 'http' }]);
    const stateDir = join(dir, 'triggers');
    const manager = new TriggerManager({ directory: fns, invoker: fns, datasets: store, stateDir, clock: systemClock, logger: silentLogger() });
    cleanups.push(() => manager.stop());
    await manager.start();
    fns.deploy('after', [{ kind: 'dataset', dataset: 'logs', batchSize: 10 }]);
    await manager.settled();
    await append(0);
    const firsts = await fns.waitForDeliveries(2);
    expect(firsts.map((d) => d.name).sort()).toEqual(['after', 'before']);
    expect(manager.iteratorAges('after').map(({ ageMs: _, ...where }) => where)).toEqual([{ function: 'after', dataset: 'logs', partition: 0 }]);

    // A redeploy keeping the trigger: it goes on; one changing the batch size: restarted at its checkpoint.
    fns.remove('before');
    fns.deploy('after', [{ kind: 'dataset', dataset: 'logs', batchSize: 10 }]);
    fns.deploy('after', [{ kind: 'dataset', dataset: 'logs', batchSize: 5 }]);
    await manager.settled();
    expect(existsSync(join(stateDir, 'before'))).toBe(false);
    expect(existsSync(join(stateDir, 'after'))).toBe(true);
    await append(1);
    const [, , next] = await fns.waitForDeliveries(3);
    expect(next!.name).toBe('after');
    expect(next!.event).toEqual({ dataset: 'logs', partition: 0, firstOffset: 1, records: [{ n: 1 }] });

    fns.remove('after');
    await manager.settled();
    expect(existsSync(join(stateDir, 'after'))).toBe(false);
    expect(manager.iteratorAges()).toEqual([]);
  });
});
