/**
 * The master's speed registry with a manual clock: sticky partition
 * assignment, orphans moved after the timeout or at once on a graceful
 * leave, and new processes taking only what nobody owns.
 */
import { describe, expect, it } from 'vitest';
import type { SpeedHeartbeat } from '../../../src/common/speed-shapes.js';
import { SpeedRegistry } from '../../../src/master/speed-registry.js';

const hb = (nodeId: string): SpeedHeartbeat => ({ nodeId, address: `127.0.0.1:${nodeId.length}`, views: [] });

/** Owner of each partition of `view`, from the registry's per-node answers (an independent read of its table). */
function owners(r: SpeedRegistry, ids: readonly string[], view: string, partitions: number): Array<string | undefined> {
  const out = new Array<string | undefined>(partitions).fill(undefined);
  for (const id of ids) {
    for (const p of r.partitionsOf(id, view)) {
      expect(out[p], `partition ${p} owned twice`).toBeUndefined();
      out[p] = id;
    }
  }
  return out;
}

describe('the speed registry', () => {
  it('splits the partitions of views between the processes heard before they were assigned, fewest first', () => {
    const r = new SpeedRegistry(3000);
    r.heard(hb('speed-b'), 0);
    r.heard(hb('speed-a'), 0);
    r.refresh([{ view: 'pages', partitions: 4 }, { view: 'ads', partitions: 3 }], 0);
    // Views in name order (ads, then pages), each partition to the least loaded, ties to the smaller id.
    expect(owners(r, ['speed-a', 'speed-b'], 'ads', 3)).toEqual(['speed-a', 'speed-b', 'speed-a']);
    expect(owners(r, ['speed-a', 'speed-b'], 'pages', 4)).toEqual(['speed-b', 'speed-a', 'speed-b', 'speed-a']);
    expect(r.locations('pages')).toEqual([
      { nodeId: 'speed-a', address: '127.0.0.1:7', partitions: [1, 3] },
      { nodeId: 'speed-b', address: '127.0.0.1:7', partitions: [0, 2] },
    ]);
  });

  it('gives a new process only partitions nobody owns, and never takes any from a live owner', () => {
    const r = new SpeedRegistry(3000);
    r.heard(hb('speed-a'), 0);
    r.refresh([{ view: 'pages', partitions: 4 }], 0);
    expect(r.partitionsOf('speed-a', 'pages')).toEqual([0, 1, 2, 3]);
    r.heard(hb('speed-b'), 500);
    r.heard(hb('speed-a'), 500);
    const changes = r.refresh([{ view: 'pages', partitions: 4 }, { view: 'ads', partitions: 2 }], 500);
    expect(r.partitionsOf('speed-a', 'pages')).toEqual([0, 1, 2, 3]);
    // The new view's partitions are unowned: they go to the one with the fewest (b, then alternately).
    expect(r.partitionsOf('speed-b', 'ads')).toEqual([0, 1]);
    expect(changes.moved).toEqual([{ view: 'ads', partition: 0, to: 'speed-b' }, { view: 'ads', partition: 1, to: 'speed-b' }]);
  });

  it('moves the partitions of a process silent past the timeout to the live one with the fewest, and not before', () => {
    const r = new SpeedRegistry(3000);
    for (const id of ['speed-a', 'speed-b', 'speed-c']) r.heard(hb(id), 0);
    const views = [{ view: 'pages', partitions: 6 }];
    r.refresh(views, 0);
    const before = owners(r, ['speed-a', 'speed-b', 'speed-c'], 'pages', 6);
    const ofA = r.partitionsOf('speed-a', 'pages');
    expect(ofA).toHaveLength(2);
    // b and c keep heartbeating; a stops.
    for (const t of [1000, 2000, 3000]) {
      r.heard(hb('speed-b'), t);
      r.heard(hb('speed-c'), t);
      const changes = r.refresh(views, t);
      expect(changes.expired).toEqual([]);
      expect(owners(r, ['speed-a', 'speed-b', 'speed-c'], 'pages', 6)).toEqual(before);
    }
    r.heard(hb('speed-b'), 3001);
    r.heard(hb('speed-c'), 3001);
    const changes = r.refresh(views, 3001);
    expect(changes.expired).toEqual(['speed-a']);
    const after = owners(r, ['speed-a', 'speed-b', 'speed-c'], 'pages', 6);
    expect(after.every((o) => o === 'speed-b' || o === 'speed-c')).toBe(true);
    // b and c kept what they had; a's two went one to each (the fewest, ties to the smaller id).
    for (let p = 0; p < 6; p++) if (!ofA.includes(p)) expect(after[p]).toBe(before[p]);
    expect(after.filter((o) => o === 'speed-b')).toHaveLength(3);
    expect(r.live(3001).map((n) => n.nodeId)).toEqual(['speed-b', 'speed-c']);
    // a returning is a new process: it gets nothing back.
    r.heard(hb('speed-a'), 3500);
    r.refresh(views, 3500);
    expect(r.partitionsOf('speed-a', 'pages')).toEqual([]);
  });

  it('frees the partitions of a process that leaves gracefully at once', () => {
    const r = new SpeedRegistry(3000);
    r.heard(hb('speed-a'), 0);
    r.heard(hb('speed-b'), 0);
    const views = [{ view: 'pages', partitions: 4 }];
    r.refresh(views, 0);
    r.heard(hb('speed-a'), 10, true);
    r.refresh(views, 10);
    expect(r.partitionsOf('speed-b', 'pages')).toEqual([0, 1, 2, 3]);
    expect(r.live(10).map((n) => n.nodeId)).toEqual(['speed-b']);
  });

  it('leaves partitions unowned while no process runs, and forgets views no longer deployed', () => {
    const r = new SpeedRegistry(3000);
    r.refresh([{ view: 'pages', partitions: 2 }], 0);
    expect(r.locations('pages')).toEqual([]);
    r.heard(hb('speed-a'), 1);
    r.refresh([{ view: 'pages', partitions: 2 }], 1);
    expect(r.assignedTo('speed-a')).toEqual([{ view: 'pages', partitions: [0, 1] }]);
    r.refresh([], 2);
    expect(r.assignedTo('speed-a')).toEqual([]);
  });
});

describe('the speed registry after a master restart', () => {
  it('gives each process back the partitions it reports folding, and only the rest by load', () => {
    const r = new SpeedRegistry(3000);
    const reporting = (nodeId: string, partitions: number[]): SpeedHeartbeat => ({
      ...hb(nodeId),
      views: [{ view: 'pages', definitionHash: 'd', partitions: partitions.map((p) => ({ partition: p, applied: 0, start: 0, end: 0, caughtUpAt: 0 })) }],
    });
    // b heard first: without claims, it would take everything.
    r.heard(reporting('speed-b', [0, 1, 2]), 0);
    r.heard(reporting('speed-a', [3, 1]), 0);
    r.refresh([{ view: 'pages', partitions: 6 }], 0);
    // Claims in id order: a keeps 1 and 3; b keeps 0 and 2 (1 already a's); 4 and 5 go by load (2 each: a, then b).
    expect(r.partitionsOf('speed-a', 'pages')).toEqual([1, 3, 4]);
    expect(r.partitionsOf('speed-b', 'pages')).toEqual([0, 2, 5]);
  });
});
