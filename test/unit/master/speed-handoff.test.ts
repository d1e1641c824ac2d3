/**
 * The handoff cut over the serving nodes' last reports (ServingRegistry with
 * a manual clock, viewHandoff): it moves only once every registered node
 * serves the new version; a node gone silent keeps holding it with its last
 * report until it returns, leaves, or is forgotten; and the cuts to keep.
 */
import { describe, expect, it } from 'vitest';
import type { ServingHeartbeat } from '../../../src/common/view-shapes.js';
import { ServingRegistry } from '../../../src/master/serving-registry.js';
import { orderCuts, viewHandoff, type ViewCuts } from '../../../src/master/speed-handoff.js';

const CUTS: Record<number, number[]> = { 1: [10, 5], 2: [20, 8], 3: [30, 30] };
const cutOf = (_view: string, version: number): number[] | undefined => CUTS[version];

function node(nodeId: string, current: number | undefined, loaded: number[] = current === undefined ? [] : [current]): ServingHeartbeat {
  return {
    nodeId, address: `127.0.0.1:${nodeId.length}`, refused: [], refusalReason: '',
    loaded: loaded.map((version) => ({ view: 'pages', version })), current: current === undefined ? [] : [{ view: 'pages', version: current }],
  };
}

const viewAt = (current: number | undefined, building: number[][] = []): ViewCuts => ({
  view: 'pages', sourcePartitions: 2,
  ...(current === undefined ? {} : { current: { version: current, cut: CUTS[current]! } }),
  served: [3, 2, 1].filter((v) => current !== undefined && v <= current).map((v) => ({ version: v, cut: CUTS[v]! })),
  building,
});

describe('the speed handoff', () => {
  it('is all zeros before any version, and keeps the running build\'s cut', () => {
    const h = viewHandoff(viewAt(undefined, [[4, 4]]), [], cutOf);
    expect(h).toEqual({ view: 'pages', handoffCut: [0, 0], cuts: [[4, 4]], currentVersion: 0, heldBy: [] });
  });

  it('moves to a new version\'s cut only once every registered node serves it', () => {
    const reg = new ServingRegistry(10_000);
    reg.heard(node('serving-a', 1), 0);
    reg.heard(node('serving-b', 1), 0);
    expect(viewHandoff(viewAt(1), reg.registered(0), cutOf).handoffCut).toEqual([10, 5]);
    // Version 2 published: a has loaded it, b not yet.
    reg.heard(node('serving-a', 2, [2, 1]), 1000);
    let h = viewHandoff(viewAt(2), reg.registered(1000), cutOf);
    expect(h.handoffCut).toEqual([10, 5]);
    expect(h.heldBy).toEqual([{ nodeId: 'serving-b', version: 1, live: true, lastHeardAt: 0 }]);
    expect(h.cuts).toEqual([[10, 5], [20, 8]]);
    reg.heard(node('serving-b', 2, [2, 1]), 1500);
    h = viewHandoff(viewAt(2), reg.registered(1500), cutOf);
    expect(h.handoffCut).toEqual([20, 8]);
    expect(h.heldBy).toEqual([]);
  });

  it('is held by a node gone silent (its last report) until it returns, leaves, or is forgotten; live() no longer lists it', () => {
    const reg = new ServingRegistry(10_000);
    reg.heard(node('serving-a', 1), 0);
    reg.heard(node('serving-b', 1), 0);
    reg.heard(node('serving-a', 3), 60_000);
    const h = viewHandoff(viewAt(3), reg.registered(60_000), cutOf);
    expect(h.handoffCut).toEqual([10, 5]);
    expect(h.heldBy).toEqual([{ nodeId: 'serving-b', version: 1, live: false, lastHeardAt: 0 }]);
    expect(reg.live(60_000).map((n) => n.nodeId)).toEqual(['serving-a']);
    expect(reg.servedBy('pages', 1, 60_000)).toEqual([]);
    // Forgotten by an operator: the handoff reaches the current cut.
    expect(reg.forget('serving-b')).toBe(true);
    expect(reg.forget('serving-b')).toBe(false);
    expect(viewHandoff(viewAt(3), reg.registered(60_000), cutOf).handoffCut).toEqual([30, 30]);
    // Comes back serving version 2, then leaves gracefully.
    reg.heard(node('serving-b', 2), 61_000);
    expect(viewHandoff(viewAt(3), reg.registered(61_000), cutOf).handoffCut).toEqual([20, 8]);
    reg.heard({ ...node('serving-b', undefined), leaving: true }, 62_000);
    expect(viewHandoff(viewAt(3), reg.registered(62_000), cutOf).handoffCut).toEqual([30, 30]);
  });

  it('takes the least per partition after a rollback, and counts a version of unknown cut as zeros', () => {
    const reg = new ServingRegistry(10_000);
    // Rolled back to 2 while a node still serves 3: never past any served cut.
    reg.heard(node('serving-a', 3), 0);
    expect(viewHandoff(viewAt(2), reg.registered(0), cutOf).handoffCut).toEqual([20, 8]);
    reg.heard(node('serving-b', 7), 0);
    const h = viewHandoff(viewAt(3), reg.registered(0), cutOf);
    expect(h.handoffCut).toEqual([0, 0]);
    expect(h.heldBy.map((x) => x.nodeId)).toEqual(['serving-b']);
  });

  it('orders cuts by their total, then partition by partition, without repeats or cuts of another length', () => {
    expect(orderCuts([[5, 5], [1, 9], [0, 1], [5, 5], [3]], 2)).toEqual([[0, 1], [1, 9], [5, 5]]);
  });
});
