/**
 * The functions' triggers and HTTP port wired into a real master, against a
 * fake function service (test/support/fake-functions.ts) until the
 * invocation service is on main: events from the master's own dataset
 * store, checkpoints kept across a master restart, and the HTTP port of a
 * `laminate master` process.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LaminateClient } from '../../src/client/index.js';
import { silentLogger } from '../../src/common/logger.js';
import { Master } from '../../src/master/master.js';
import { WorkerNode } from '../../src/worker/worker.js';
import { FakeFunctions } from '../support/fake-functions.js';
import { EXAMPLES, removeDir, startMasterProc, tempDir, type MasterProc } from './harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface DatasetEvent { dataset: string; partition: number; firstOffset: number; records: unknown[] }

describe('function triggers in the master', () => {
  it('runs a dataset trigger over the master\'s store and an http trigger on its HTTP port, and resumes from its checkpoint after a restart', async () => {
    const dir = await tempDir();
    cleanups.push(() => removeDir(dir));
    const start = async (fns: FakeFunctions): Promise<{ master: Master; client: LaminateClient }> => {
      const master = new Master({ port: 0, dataDir: join(dir, 'master'), logger: silentLogger(), triggerFunctions: fns });
      await master.start();
      const client = new LaminateClient(master.address);
      cleanups.push(async () => { await client.close(); await master.stop(); });
      return { master, client };
    };
    const fns = new FakeFunctions();
    const { master, client } = await start(fns);
    await client.createDataset('logs', { partitions: 1 });
    fns.deploy('alerts', [{ kind: 'dataset', dataset: 'logs', batchSize: 100 }, { kind: 'http' }]);
    await master.functionTriggers!.settled();
    await client.append('logs', [{ status: 500 }, { status: 200 }]);
    const [first] = await fns.waitForDeliveries(1);
    expect(first!.event).toEqual({ dataset: 'logs', partition: 0, firstOffset: 0, records: [{ status: 500 }, { status: 200 }] });

    const res = await fetch(`http://${master.httpAddress}/functions/alerts/invoke`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect({ status: res.status, body: await res.json() }).toEqual({ status: 200, body: { a: 1 } });
    expect(master.httpAddress).not.toMatch(/:7080$/);

    await client.close();
    await master.stop();
    // The function service would load its catalog from disk; the fake is told the same function again.
    const again = new FakeFunctions();
    again.deploy('alerts', [{ kind: 'dataset', dataset: 'logs', batchSize: 100 }, { kind: 'http' }]);
    const second = await start(again);
    await second.client.append('logs', [{ status: 503 }]);
    const [resumed] = await again.waitForDeliveries(1);
    // From the checkpoint: the settled batch is not delivered again, and the new record is not skipped.
    expect(resumed!.event).toEqual({ dataset: 'logs', partition: 0, firstOffset: 2, records: [{ status: 503 }] } satisfies DatasetEvent);
  });

  it('tells a view trigger of each version a build publishes, with the keys added and changed against the version before', async () => {
    const dir = await tempDir();
    cleanups.push(() => removeDir(dir));
    const fns = new FakeFunctions();
    const master = new Master({ port: 0, dataDir: join(dir, 'master'), logger: silentLogger(), triggerFunctions: fns });
    await master.start();
    cleanups.push(() => master.stop());
    const worker = new WorkerNode({ master: master.address, dataDir: join(dir, 'worker'), logger: silentLogger(), name: 'w1', slots: 2, warmUp: false });
    await worker.start();
    cleanups.push(() => worker.stop());
    const client = new LaminateClient(master.address);
    cleanups.push(() => client.close());
    await client.createDataset('clicks', { partitions: 2 });
    const views = (from: number, to: number, each: number): { page_id: string; event_type: string }[] =>
      Array.from({ length: (to - from) * each }, (_, i) => ({ page_id: `p${from + (i % (to - from))}`, event_type: 'view' }));
    await client.append('clicks', views(0, 20, 3));
    await client.deployView(join(EXAMPLES, 'views', 'page-views.ts'), { partitions: 2 });
    fns.deploy('on-views', [{ kind: 'view', view: 'page-views' }]);
    await master.functionTriggers!.settled();
    const v1 = await client.buildView('page-views', { wait: true });
    const [e1] = await fns.waitForDeliveries(1);
    expect(e1!.event).toEqual({ view: 'page-views', version: v1.version, cut: v1.cut, added: 20, removed: 0, changed: 0, previousVersion: 0 });
    // p10-p19 seen again (changed), p20-p29 new (added).
    await client.append('clicks', views(10, 30, 1));
    const v2 = await client.buildView('page-views', { wait: true });
    const [, e2] = await fns.waitForDeliveries(2);
    expect(e2!.event).toEqual({ view: 'page-views', version: v2.version, cut: v2.cut, added: 10, removed: 0, changed: 10, previousVersion: v1.version });
    expect(e2!.eventId).toBe(`on-views:view:page-views:${v2.version}`);
  });

  it('a `laminate master` process prints its HTTP address and serves on it', async () => {
    const dir = await tempDir();
    let master: MasterProc | undefined;
    cleanups.push(async () => { await master?.kill(); await removeDir(dir); });
    master = await startMasterProc(dir);
    const line = await master.waitFor(/master http on (\S+)/);
    const address = line.replace('master http on ', '');
    expect(await (await fetch(`http://${address}/health`)).json()).toEqual({ ok: true });
    // An unknown function: 404 once the master has its function service, 503 while it has none; JSON either way.
    const r = await fetch(`http://${address}/functions/nope/invoke`, { method: 'POST', body: '{}' });
    const body = await r.json() as { code: string };
    expect([[404, 'NOT_FOUND'], [503, 'UNAVAILABLE']]).toContainEqual([r.status, body.code]);
  });
});
