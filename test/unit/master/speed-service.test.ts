/**
 * The master's speed service with a manual clock, a real catalog and view
 * store in a temporary folder: the start grace (speed heartbeats refused
 * while serving nodes report, yet recorded), the cuts of running builds
 * and of kept versions in the assignment, the handoff held by a serving
 * node, and partitions moving when a process falls silent.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/common/logger.js';
import type { SpeedHeartbeat } from '../../../src/common/speed-shapes.js';
import { ServingRegistry } from '../../../src/master/serving-registry.js';
import { SpeedRegistry } from '../../../src/master/speed-registry.js';
import { createSpeedService } from '../../../src/master/speed-service.js';
import { ViewCatalog } from '../../../src/master/view-catalog.js';
import { MANIFEST_FILE, versionDir } from '../../../src/view/view-version-dir.js';
import { loadVersionCuts, saveVersionCuts, type SeenCut } from '../../../src/master/version-cuts-store.js';
import { writeVersion } from '../../support/view-versions.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('laminate-speed-service-');
const hb = (nodeId: string): SpeedHeartbeat => ({ nodeId, address: `127.0.0.1:${nodeId.length}`, views: [] });

async function setUp(graceMs: number, o: { root?: string; seenCuts?: readonly SeenCut[] } = {}): Promise<{ clock: ManualClock; service: ReturnType<typeof createSpeedService>; catalog: ViewCatalog; root: string; serving: ServingRegistry }> {
  const root = o.root ?? await tempDir();
  const catalog = await ViewCatalog.open(join(root, '_catalog'));
  if (catalog.list().length === 0) await catalog.deploy({
    name: 'pages', source: 'clicks', definitionHash: 'd'.repeat(64), merge: 'sum', partitions: 1, everyMs: 0, keep: 1, bundleHash: 'b'.repeat(64), deployedAt: 0,
  });
  const clock = new ManualClock(1000);
  const serving = new ServingRegistry(10_000);
  const service = createSpeedService({
    catalog, root, datasets: { currentCut: () => [0, 0] }, serving, speed: new SpeedRegistry(3000), clock, log: silentLogger(), startGraceMs: graceMs,
    ...(o.seenCuts === undefined ? {} : { seenCuts: o.seenCuts }),
  });
  return { clock, service, catalog, root, serving };
}

describe('the master\'s speed service', () => {
  it('refuses speed heartbeats during the start grace, yet splits the partitions between every process heard meanwhile', async () => {
    const { clock, service } = await setUp(2500);
    await expect(service.handlers.speedHeartbeat(hb('speed-b'), false)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    clock.advance(1000);
    await expect(service.handlers.speedHeartbeat(hb('speed-a'), false)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    clock.advance(1500);
    const a = await service.handlers.speedHeartbeat(hb('speed-a'), false);
    expect(a.views.map((v) => [v.view, v.partitions])).toEqual([['pages', [0]]]);
    expect(service.locations('pages').map((l) => [l.nodeId, l.partitions])).toEqual([['speed-a', [0]], ['speed-b', [1]]]);
  });

  it('keeps, after a master restart, each process\'s partitions when a serving heartbeat asks for locations during the grace', async () => {
    const { clock, service } = await setUp(2500);
    const folding = (nodeId: string, partition: number): SpeedHeartbeat => ({
      ...hb(nodeId), views: [{ view: 'pages', definitionHash: 'd'.repeat(64), partitions: [{ partition, applied: 3, start: 0, end: 3, caughtUpAt: 0 }] }],
    });
    await expect(service.handlers.speedHeartbeat(folding('speed-a', 0), false)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // A serving node's heartbeat before speed-b is heard: partition 1 must not go to speed-a.
    expect(service.locations('pages').map((l) => [l.nodeId, l.partitions])).toEqual([['speed-a', [0]]]);
    clock.advance(500);
    await expect(service.handlers.speedHeartbeat(folding('speed-b', 1), false)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    clock.advance(2000);
    const a = await service.handlers.speedHeartbeat(folding('speed-a', 0), false);
    const b = await service.handlers.speedHeartbeat(folding('speed-b', 1), false);
    expect(a.views.map((v) => v.partitions)).toEqual([[0]]);
    expect(b.views.map((v) => v.partitions)).toEqual([[1]]);
  });

  it('refuses the heartbeat, rather than naming a handoff of zeros (a refold of the whole log), while the current version\'s manifest cannot be read', async () => {
    const { service, root } = await setUp(0);
    await writeVersion(root, { view: 'pages', version: 1, entries: new Map([['k', 1]]), partitions: 1, cut: [5, 2] });
    await service.handlers.speedHeartbeat(hb('speed-a'), false);
    const manifest = join(versionDir(root, 'pages', 1), MANIFEST_FILE);
    const good = await readFile(manifest);
    await writeFile(manifest, 'not json');
    await expect(service.handlers.speedHeartbeat(hb('speed-a'), false)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await writeFile(manifest, good);
    const a = await service.handlers.speedHeartbeat(hb('speed-a'), false);
    expect(a.views.map((v) => v.handoffCut)).toEqual([[5, 2]]);
  });

  it('refuses the heartbeat while a live serving node serves a version newer than the current one read, of a cut not seen yet (published meanwhile), rather than a handoff of zeros', async () => {
    const { clock, service, root, serving } = await setUp(0);
    await writeVersion(root, { view: 'pages', version: 1, entries: new Map([['k', 1]]), partitions: 1, cut: [5, 2] });
    await service.handlers.speedHeartbeat(hb('speed-a'), false);
    // The node reports version 2 before this master has read it: as when a publish lands between a speed
    // heartbeat's read of CURRENT and the handoff it makes.
    const node = { nodeId: 'serving-a', address: 'x', loaded: [], refused: [], refusalReason: '', current: [{ view: 'pages', version: 2 }] };
    serving.heard(node, clock.now());
    await expect(service.handlers.speedHeartbeat(hb('speed-a'), false)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // Once it is published, the next heartbeat reads it: the handoff moves to its cut.
    await writeVersion(root, { view: 'pages', version: 2, entries: new Map([['k', 2]]), partitions: 1, cut: [8, 4] });
    const a = await service.handlers.speedHeartbeat(hb('speed-a'), false);
    expect(a.views.map((v) => v.handoffCut)).toEqual([[8, 4]]);
  });

  it('keeps the handoff at zeros, not a refusal, for a down serving node that serves a version newer than the current one, of an unknown cut', async () => {
    const { clock, service, root, serving } = await setUp(0);
    await writeVersion(root, { view: 'pages', version: 1, entries: new Map([['k', 1]]), partitions: 1, cut: [5, 2] });
    serving.heard({ nodeId: 'serving-a', address: 'x', loaded: [], refused: [], refusalReason: '', current: [{ view: 'pages', version: 7 }] }, clock.now());
    await expect(service.handlers.speedHeartbeat(hb('speed-a'), false)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // Silent past the serving timeout (10 s here): down, it may hold that version for as long as it is down.
    clock.advance(10_001);
    const a = await service.handlers.speedHeartbeat(hb('speed-a'), false);
    expect(a.views.map((v) => v.handoffCut)).toEqual([[0, 0]]);
  });

  it('names the cuts of kept versions and running builds, the handoff where serving nodes are, and moves partitions of a silent process', async () => {
    const { clock, service, catalog, root, serving } = await setUp(0);
    for (const [version, cut] of [[1, [1, 1]], [2, [5, 2]], [3, [9, 4]]] as const) {
      await writeVersion(root, { view: 'pages', version, entries: new Map([['k', version]]), partitions: 1, cut });
    }
    await catalog.startBuild({
      view: 'pages', version: 4, source: 'clicks', partitions: 1, cut: [12, 7], jobId: '', state: 'RUNNING', startedAt: 0, incremental: false, baseVersion: 0, definitionHash: 'd'.repeat(64),
    });
    serving.heard({ nodeId: 'serving-a', address: 'x', loaded: [], refused: [], refusalReason: '', current: [{ view: 'pages', version: 2 }] }, clock.now());
    await service.handlers.speedHeartbeat(hb('speed-a'), false);
    const b = await service.handlers.speedHeartbeat(hb('speed-b'), false);
    // a was alone at its first heartbeat: it owns both; b owns nothing, so it is told nothing.
    expect(b.views).toEqual([]);
    clock.advance(2000);
    const a = await service.handlers.speedHeartbeat(hb('speed-a'), false);
    expect(a.views).toEqual([{
      view: 'pages', source: 'clicks', bundleHash: 'b'.repeat(64), definitionHash: 'd'.repeat(64), merge: 'sum', partitions: [0, 1],
      // keep 1: versions 3 and 2 listed; 1 retired from the list. The build's cut kept too.
      cuts: [[5, 2], [9, 4], [12, 7]], handoffCut: [5, 2],
    }]);
    const status = await service.handlers.listSpeedNodes();
    expect(status.handoffs).toEqual([{
      view: 'pages', handoffCut: [5, 2], cuts: [[5, 2], [9, 4], [12, 7]], currentVersion: 3,
      heldBy: [{ nodeId: 'serving-a', version: 2, live: true, lastHeardAt: 1000 }],
    }]);
    // a falls silent past the timeout; b heartbeats and takes both.
    clock.advance(1500);
    await service.handlers.speedHeartbeat(hb('speed-b'), false);
    clock.advance(1501);
    const moved = await service.handlers.speedHeartbeat(hb('speed-b'), false);
    expect(moved.views.map((v) => v.partitions)).toEqual([[0, 1]]);
    expect((await service.handlers.listSpeedNodes()).nodes.map((n) => n.nodeId)).toEqual(['speed-b']);
  });

  it('remembers across a restart the cut of a version a down serving node serves after it was retired: the handoff stays there, not at zeros', async () => {
    const first = await setUp(0);
    await writeVersion(first.root, { view: 'pages', version: 1, entries: new Map([['k', 1]]), partitions: 1, cut: [5, 2] });
    const node = { nodeId: 'serving-a', address: 'x', loaded: [], refused: [], refusalReason: '', current: [{ view: 'pages', version: 1 }] };
    first.serving.heard(node, first.clock.now());
    await first.service.handlers.speedHeartbeat(hb('speed-a'), false);
    const saved = first.service.takeCutChanges();
    expect(saved).toEqual([{ view: 'pages', version: 1, cut: [5, 2] }]);
    expect(first.service.takeCutChanges()).toBeUndefined();
    const catalogDir = join(first.root, '_catalog');
    await saveVersionCuts(catalogDir, saved!);
    // Versions 2 and 3 published, version 1 retired (keep 1): its manifest is gone while the node, down, still serves it.
    await writeVersion(first.root, { view: 'pages', version: 2, entries: new Map([['k', 2]]), partitions: 1, cut: [8, 4] });
    await writeVersion(first.root, { view: 'pages', version: 3, entries: new Map([['k', 3]]), partitions: 1, cut: [10, 6] });
    await rm(versionDir(first.root, 'pages', 1), { recursive: true });
    for (const seenCuts of [[], await loadVersionCuts(catalogDir)]) {
      const restarted = await setUp(0, { root: first.root, seenCuts });
      restarted.serving.restore([{ nodeId: node.nodeId, address: node.address, lastHeardAt: 0, current: node.current }]);
      const a = await restarted.service.handlers.speedHeartbeat(hb('speed-a'), false);
      // Without the cuts remembered, zeros: every speed process would refold from offset 0.
      expect(a.views.map((v) => v.handoffCut)).toEqual([seenCuts.length === 0 ? [0, 0] : [5, 2]]);
    }
  });
});
