/**
 * The master's side of the speed layer through its real Views service, with
 * speed processes' shells (SpeedNode) running in this process on a fake
 * engine, and serving nodes' heartbeats sent by hand: assignment of a
 * view's partitions, the speed side's reads through the Speed service,
 * the serving assignment's speed fields, a graceful leave, and the handoff
 * cut moving only once every serving node serves a version (a silent one
 * holding it until an operator forgets it).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LaminateClient } from '../../src/client/laminate-client.js';
import { silentLogger } from '../../src/common/logger.js';
import type { SpeedAssignment } from '../../src/common/speed-shapes.js';
import type { ServingHeartbeat } from '../../src/common/view-shapes.js';
import { Master } from '../../src/master/master.js';
import { SpeedClient } from '../../src/protocol/speed-rpc.js';
import { ViewsClient } from '../../src/protocol/view-rpc.js';
import { SpeedNode } from '../../src/speed/speed-node.js';
import { createSpeedEngine, type FakeSpeedEngine } from '../support/fake-speed-engine.js';
import { writeVersion } from '../support/view-versions.js';
import { Teardown } from './fault-support.js';
import { removeDir, startLocal, tempDir } from './harness.js';

const VIEW = 'pages';
const BUNDLE = Buffer.from('export default { fake: true };\n');
const teardown = new Teardown();
let dir: string;
let master: Master;
let views: ViewsClient;
let client: LaminateClient;

beforeEach(async () => {
  dir = await tempDir('laminate-speed-master-');
  teardown.add(() => removeDir(dir));
  // A long speed-node timeout: a process that is gone from the master's list left, it did not expire.
  master = new Master({ dataDir: join(dir, 'master'), port: 0, logger: silentLogger(), speedStartGraceMs: 0, speedNodeTimeoutMs: 60_000 });
  await master.start();
  teardown.add(() => master.stop());
  views = new ViewsClient(master.address);
  teardown.add(() => views.close());
  client = new LaminateClient(master.address);
  teardown.add(() => client.close());
  await client.createDataset('clicks', { partitions: 4 });
});
afterEach(() => teardown.run());

async function speedNode(name: string): Promise<{ node: SpeedNode; engine: () => FakeSpeedEngine }> {
  let engine: FakeSpeedEngine | undefined;
  const node = new SpeedNode({
    master: master.address, dataDir: join(dir, name), heartbeatIntervalMs: 50, logger: silentLogger(),
    engineFactory: (o) => (engine = createSpeedEngine(o)),
  });
  await node.start();
  teardown.add(() => node.stop());
  return { node, engine: () => engine! };
}

/** Resolves with the first value `probe` gives that is not undefined (polled: the master has no event for these). */
async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const partitionsIn = (a: SpeedAssignment | undefined): number[] => a?.views.find((v) => v.view === VIEW)?.partitions.slice() ?? [];

async function deploy(): Promise<void> {
  await views.deployView({ name: VIEW, bundle: BUNDLE, source: 'clicks', definitionHash: 'c'.repeat(64), merge: 'sum', windowSizeMs: 60_000 });
}

function servingHb(nodeId: string, current: number | undefined, loaded: number[] = current === undefined ? [] : [current]): ServingHeartbeat {
  return {
    nodeId, address: '127.0.0.1:1', refused: [], refusalReason: '',
    loaded: loaded.map((version) => ({ view: VIEW, version })), current: current === undefined ? [] : [{ view: VIEW, version: current }],
  };
}

describe('the master\'s speed layer', () => {
  it('splits a view\'s partitions between two speed processes, tells serving nodes where they are, and moves them at once on a graceful leave', async () => {
    const a = await speedNode('speed-a');
    const b = await speedNode('speed-b');
    await until('both processes registered', async () => ((await views.listSpeedNodes()).nodes.length === 2 ? true : undefined));
    await deploy();
    const [pa, pb] = await until('both processes assigned the view', () => {
      const x = partitionsIn(a.engine().assignments.at(-1));
      const y = partitionsIn(b.engine().assignments.at(-1));
      return x.length > 0 && y.length > 0 ? [x, y] : undefined;
    });
    expect([...pa, ...pb].sort()).toEqual([0, 1, 2, 3]);
    expect(pa).toHaveLength(2);
    const assigned = a.engine().assignments.at(-1)!.views[0]!;
    expect(assigned).toMatchObject({ view: VIEW, source: 'clicks', definitionHash: 'c'.repeat(64), merge: 'sum', handoffCut: [0, 0, 0, 0], cuts: [] });
    // The shell fetched the deployed bundle for the engine, into its folder.
    const path = a.engine().bundles.get(assigned.bundleHash)!;
    expect(path.startsWith(join(dir, 'speed-a', 'bundles'))).toBe(true);
    expect(await readFile(path)).toEqual(BUNDLE);

    // The Speed service answers from the engine.
    a.engine().data.set(VIEW, new Map([['k1', Uint8Array.of(7)], ['k2', Uint8Array.of(8)]]));
    const speed = new SpeedClient(a.node.address);
    teardown.add(() => speed.close());
    const got = await speed.get({ view: VIEW, cut: [1, 2, 3, 4], keys: ['k2', 'zz'] });
    expect(got.entries).toEqual([{ key: 'k2', acc: Buffer.of(8) }]);
    expect(got.partitions.map((p) => [p.partition, p.applied])).toEqual(pa.map((p) => [p, p + 1]));
    await expect(speed.get({ view: 'other', cut: [0], keys: ['k'] })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    // Serving nodes learn where the speed side is, the window size and the source's partitions.
    await writeVersion(join(dir, 'master', 'views'), { view: VIEW, version: 1, entries: new Map([['k1', 1]]), partitions: 1, cut: [0, 0, 0, 0] });
    const served = (await views.servingHeartbeat(servingHb('serving-000000000001', undefined))).find((v) => v.view === VIEW)!;
    expect(served.windowSizeMs).toBe(60_000);
    expect(served.sourcePartitions).toBe(4);
    expect(served.speed).toEqual([
      { nodeId: a.node.nodeId, address: a.node.address, partitions: pa },
      { nodeId: b.node.nodeId, address: b.node.address, partitions: pb },
    ].sort((x, y) => (x.nodeId < y.nodeId ? -1 : 1)));
    const status = await views.listSpeedNodes();
    expect(status.nodes.find((n) => n.nodeId === a.node.nodeId)?.assigned).toEqual([{ view: VIEW, partitions: pa }]);

    // A graceful leave: the engine is closed first, then the master forgets the process at once
    // (its timeout is a minute here), and the other takes every partition.
    await a.node.stop();
    expect(a.engine().closed).toBe(true);
    expect((await views.listSpeedNodes()).nodes.map((n) => n.nodeId)).toEqual([b.node.nodeId]);
    await until('b assigned every partition', () => (partitionsIn(b.engine().assignments.at(-1)).length === 4 ? true : undefined));
  });

  it('moves the handoff cut only once every serving node serves the version, and a silent node holds it until forgotten', async () => {
    const s = await speedNode('speed-a');
    await deploy();
    const store = join(dir, 'master', 'views');
    const publish = (version: number, cut: number[]): Promise<unknown> => writeVersion(store, { view: VIEW, version, entries: new Map([['k', version]]), partitions: 1, cut });
    const handoff = async (): Promise<{ cut: readonly number[]; heldBy: string[] }> => {
      const h = (await views.listSpeedNodes()).handoffs.find((x) => x.view === VIEW)!;
      return { cut: h.handoffCut, heldBy: h.heldBy.map((x) => `${x.nodeId}@v${x.version}`) };
    };
    const engineHandoff = (): string => JSON.stringify(s.engine().assignments.at(-1)?.views[0]?.handoffCut);
    const A = 'serving-00000000000a';
    const B = 'serving-00000000000b';

    await publish(1, [10, 5, 0, 2]);
    await views.servingHeartbeat(servingHb(A, 1));
    await views.servingHeartbeat(servingHb(B, 1));
    expect(await handoff()).toEqual({ cut: [10, 5, 0, 2], heldBy: [] });
    await until('the engine told the handoff', () => (engineHandoff() === '[10,5,0,2]' ? true : undefined));

    await publish(2, [20, 8, 3, 2]);
    await views.servingHeartbeat(servingHb(A, 2, [2, 1]));
    await views.servingHeartbeat(servingHb(B, 1, [2, 1])); // loaded, not yet current
    expect(await handoff()).toEqual({ cut: [10, 5, 0, 2], heldBy: [`${B}@v1`] });
    // An assignment that names version 2's cut: one sent before these heartbeats were heard may also hold two cuts.
    const cuts = await until('the engine told the new cut to keep', () => {
      const c = s.engine().assignments.at(-1)?.views[0]?.cuts;
      return c?.some((x) => x.join(',') === '20,8,3,2') ? c : undefined;
    });
    expect(cuts).toEqual([[10, 5, 0, 2], [20, 8, 3, 2]]);
    expect(engineHandoff()).toBe('[10,5,0,2]');

    await views.servingHeartbeat(servingHb(B, 2, [2, 1]));
    expect(await handoff()).toEqual({ cut: [20, 8, 3, 2], heldBy: [] });
    await until('the engine told the moved handoff', () => (engineHandoff() === '[20,8,3,2]' ? true : undefined));

    // B falls silent; version 3 is served by A only: B's last report holds the handoff at version 2's cut.
    await publish(3, [30, 9, 9, 9]);
    await views.servingHeartbeat(servingHb(A, 3, [3, 2, 1]));
    expect(await handoff()).toEqual({ cut: [20, 8, 3, 2], heldBy: [`${B}@v2`] });
    expect(await views.forgetServingNode(B)).toBe(true);
    expect(await handoff()).toEqual({ cut: [30, 9, 9, 9], heldBy: [] });

    // A node that leaves gracefully no longer holds anything; one that was never registered cannot be forgotten.
    await views.servingHeartbeat(servingHb(B, 2, [2]));
    expect((await handoff()).heldBy).toEqual([`${B}@v2`]);
    await views.servingHeartbeat({ ...servingHb(B, undefined), leaving: true });
    expect(await handoff()).toEqual({ cut: [30, 9, 9, 9], heldBy: [] });
    expect(await views.forgetServingNode('serving-0000000000ff')).toBe(false);
  });
});

describe('a restarted master', () => {
  it('remembers a serving node that fell silent before the restart: it still holds the handoff until forgotten', async () => {
    await deploy();
    const store = join(dir, 'master', 'views');
    const publish = (version: number, cut: number[]): Promise<unknown> => writeVersion(store, { view: VIEW, version, entries: new Map([['k', version]]), partitions: 1, cut });
    const A = 'serving-00000000000a';
    const B = 'serving-00000000000b';
    await publish(1, [10, 5, 0, 2]);
    await views.servingHeartbeat(servingHb(A, 1));
    await views.servingHeartbeat(servingHb(B, 1));
    await publish(2, [20, 8, 3, 2]);
    await views.servingHeartbeat(servingHb(A, 2, [2, 1]));
    // B falls silent at version 1; the master restarts.
    await master.stop();
    master = new Master({ dataDir: join(dir, 'master'), port: 0, logger: silentLogger(), speedStartGraceMs: 0, speedNodeTimeoutMs: 60_000 });
    await master.start();
    teardown.add(() => master.stop());
    views.close();
    views = new ViewsClient(master.address);
    teardown.add(() => views.close());
    await views.servingHeartbeat(servingHb(A, 2, [2, 1]));
    const held = (await views.listSpeedNodes()).handoffs.find((x) => x.view === VIEW)!;
    expect(held.handoffCut).toEqual([10, 5, 0, 2]);
    expect(held.heldBy.map((x) => [x.nodeId, x.version])).toEqual([[B, 1]]);
    expect(await views.forgetServingNode(B)).toBe(true);
    expect((await views.listSpeedNodes()).handoffs.find((x) => x.view === VIEW)!.handoffCut).toEqual([20, 8, 3, 2]);
  });
});

describe('the embedded cluster', () => {
  it('runs a speed process when asked, which is assigned every partition of a deployed view and leaves on stop', async () => {
    let engine: FakeSpeedEngine | undefined;
    const cluster = await startLocal({ dataDir: join(dir, 'local'), workers: 1, heartbeatIntervalMs: 100, speed: (o) => (engine = createSpeedEngine(o)) });
    let stopped = false;
    teardown.add(async () => { if (!stopped) await cluster.stop(); });
    const lc = new LaminateClient(cluster.address);
    teardown.add(() => lc.close());
    const lv = new ViewsClient(cluster.address);
    teardown.add(() => lv.close());
    await lc.createDataset('clicks', { partitions: 3 });
    await lv.deployView({ name: VIEW, bundle: BUNDLE, source: 'clicks', definitionHash: 'c'.repeat(64), merge: 'sum' });
    await until('the speed process assigned the view', () => (partitionsIn(engine?.assignments.at(-1)).length === 3 ? true : undefined));
    expect((await lv.listSpeedNodes()).nodes.map((n) => n.nodeId)).toEqual([cluster.speed!.nodeId]);
    await cluster.stop();
    stopped = true;
    expect(engine!.closed).toBe(true);
  });
});
