/**
 * Registered serving nodes survive a master restart: what the registry
 * gives to persist after a change, the file's round trip, and a restored
 * node counted as down, holding its current versions, until it heartbeats.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadServingNodes, saveServingNodes, servingNodesPath } from '../../../src/master/serving-registry-store.js';
import { ServingRegistry } from '../../../src/master/serving-registry.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const hb = (nodeId: string, version: number, extra: { leaving?: boolean } = {}) => ({
  nodeId, address: `127.0.0.1:${7000 + version}`, loaded: [{ view: 'v', version }], refused: [], refusalReason: '', current: [{ view: 'v', version }], ...extra,
});

describe('serving registry persistence', () => {
  it('gives the nodes to save only after membership or a current version changed', () => {
    const reg = new ServingRegistry(1000);
    expect(reg.takeChanges()).toBeUndefined();
    reg.heard(hb('a', 1), 0);
    expect(reg.takeChanges()).toEqual([{ nodeId: 'a', address: '127.0.0.1:7001', lastHeardAt: 0, current: [{ view: 'v', version: 1 }] }]);
    reg.heard(hb('a', 1), 500);
    expect(reg.takeChanges()).toBeUndefined();
    reg.heard(hb('a', 2), 900);
    expect(reg.takeChanges()?.map((n) => n.current)).toEqual([[{ view: 'v', version: 2 }]]);
    reg.heard(hb('b', 2), 900);
    reg.heard(hb('b', 2, { leaving: true }), 950);
    expect(reg.takeChanges()?.map((n) => n.nodeId)).toEqual(['a']);
    expect(reg.forget('a')).toBe(true);
    expect(reg.takeChanges()).toEqual([]);
  });

  it('round-trips the file, refuses a malformed one, and restores nodes as down until heard', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'laminate-serving-nodes-'));
    dirs.push(dir);
    expect(await loadServingNodes(dir)).toEqual([]);
    const before = new ServingRegistry(1000);
    before.heard(hb('a', 3), 10_000);
    before.heard(hb('b', 4), 10_000);
    await saveServingNodes(dir, before.takeChanges()!);

    const after = new ServingRegistry(1000);
    after.restore(await loadServingNodes(dir));
    const now = 20_000;
    expect(after.live(now)).toEqual([]);
    expect(after.registered(now).map((n) => [n.nodeId, n.live, n.current])).toEqual([
      ['a', false, [{ view: 'v', version: 3 }]],
      ['b', false, [{ view: 'v', version: 4 }]],
    ]);
    // A restored node heard again is live with its new report; a restore never overwrites a node heard since.
    after.heard(hb('a', 5), now);
    after.restore(await loadServingNodes(dir));
    expect(after.registered(now).map((n) => [n.nodeId, n.live, n.current[0]!.version])).toEqual([['a', true, 5], ['b', false, 4]]);

    // Restored within the timeout of its last heartbeat (a quick restart): still down, its loaded versions unknown.
    const quick = new ServingRegistry(1000);
    quick.restore(await loadServingNodes(dir));
    expect(quick.live(10_500)).toEqual([]);
    expect(quick.registered(10_500).map((n) => [n.nodeId, n.live])).toEqual([['a', false], ['b', false]]);
    expect(quick.servedBy('v', 3, 10_500)).toEqual([]);
    quick.heard(hb('b', 4), 10_600);
    expect(quick.live(10_600).map((n) => [n.nodeId, n.loaded])).toEqual([['b', [{ view: 'v', version: 4 }]]]);

    await writeFile(servingNodesPath(dir), '{"nodes":[{"nodeId":"a"}]}');
    await expect(loadServingNodes(dir)).rejects.toMatchObject({ code: 'DATA_LOSS' });
    await writeFile(servingNodesPath(dir), 'not json');
    await expect(loadServingNodes(dir)).rejects.toMatchObject({ code: 'DATA_LOSS' });
  });
});
