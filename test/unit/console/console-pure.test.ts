/**
 * The console's pure pieces: append rates from sampled totals, parameter
 * checks with their messages, the stream's path rule, the login's redirect
 * rule, and a view's serving and speed nodes picked out of the cluster's.
 */
import { describe, expect, it } from 'vitest';
import { DatasetRates, HISTORY_MS, RATE_WINDOW_MS } from '../../../src/console/dataset-rates.js';
import { intParam } from '../../../src/console/api-routes.js';
import { streamPath } from '../../../src/console/api-stream.js';
import { safeNext } from '../../../src/console/console-login.js';
import { viewDetail } from '../../../src/console/api-shapes.js';
import type { ViewInfo, ViewVersionList } from '../../../src/common/view-shapes.js';

describe('DatasetRates', () => {
  it('computes the rate over the last minute of samples, from the totals it was given', () => {
    const r = new DatasetRates();
    expect(r.rates('a')).toEqual({ recordsPerSec: 0, bytesPerSec: 0 });
    // 100 records/s for 2 minutes, then 400 records/s: the last minute's rate is 400.
    for (let t = 0; t <= 120_000; t += 5000) r.sample(t, new Map([['a', { records: t / 10, bytes: t }]]));
    expect(r.rates('a')).toEqual({ recordsPerSec: 100, bytesPerSec: 1000 });
    let records = 12_000;
    for (let t = 125_000; t <= 120_000 + RATE_WINDOW_MS; t += 5000) r.sample(t, new Map([['a', { records: (records += 2000), bytes: t }]]));
    expect(r.rates('a').recordsPerSec).toBe(400);
    // Totals that went down: the dataset was made again, and its history starts over.
    r.sample(200_000, new Map([['a', { records: 5, bytes: 5 }]]));
    expect(r.history('a')).toEqual([{ at: 200_000, records: 5, bytes: 5 }]);
    expect(r.rates('a')).toEqual({ recordsPerSec: 0, bytesPerSec: 0 });
  });

  it('keeps 15 minutes of history, and forgets a dataset no longer listed', () => {
    const r = new DatasetRates();
    for (let t = 0; t <= 2 * HISTORY_MS; t += 5000) r.sample(t, new Map([['a', { records: t, bytes: t }], ['b', { records: 0, bytes: 0 }]]));
    const h = r.history('a');
    expect(h[0]!.at).toBe(HISTORY_MS);
    expect(h[h.length - 1]!.at).toBe(2 * HISTORY_MS);
    expect(r.rates('a').recordsPerSec).toBe(1000);
    r.sample(2 * HISTORY_MS + 5000, new Map([['a', { records: 0, bytes: 0 }]]));
    expect(r.history('b')).toEqual([]);
  });
});

describe('parameter checks', () => {
  it('takes integers in range and says what was expected and what came otherwise', () => {
    expect(intParam('7', 'limit', 1, 10)).toBe(7);
    expect(intParam(undefined, 'limit', 1, 10, 5)).toBe(5);
    expect(() => intParam('11', 'limit', 1, 10)).toThrow('Expected limit: an integer from 1 to 10, got "11"');
    expect(() => intParam('1.5', 'limit', 1, 10)).toThrow('got "1.5"');
    expect(() => intParam(undefined, 'version', 1, 10)).toThrow('Expected version: an integer from 1 to 10, got nothing');
  });

  it('streams only API paths, and logs in only to paths of this server', () => {
    expect(streamPath('/api/jobs/job-1')).toBe('/api/jobs/job-1');
    for (const bad of ['/jobs', '/api/stream?path=/api/jobs', '/api/../metrics', undefined, 3]) expect(() => streamPath(bad)).toThrow(/Expected path/);
    expect(safeNext('/views/a?x=1')).toBe('/views/a?x=1');
    for (const bad of ['//evil.example', 'https://evil.example/', '/\\evil.example', undefined]) expect(safeNext(bad)).toBe('/');
  });
});

describe('viewDetail', () => {
  const view: ViewInfo = {
    name: 'v', source: 's', definitionHash: 'h', merge: 'sum', partitions: 2, everyMs: 0, keep: 2, deployedAt: 1,
    currentVersion: 3, currentCut: [10, 20], lastBuildError: '',
  };
  const version = (n: number, current: boolean, servedBy: string[]) => ({
    version: n, cut: [n], records: 0, keys: 0, bytes: 0, jobId: '', builtAt: 0, current, servedBy, refusedBy: [], definitionHash: 'h',
  });
  const list: ViewVersionList = { view: 'v', versions: [version(3, true, ['n1']), version(2, false, ['n1', 'n2'])], builds: [], history: [] };

  it('says which version each serving node serves and leaves out nodes and speed processes without the view', () => {
    const d = viewDetail(view, list, [
      { nodeId: 'n1', address: 'a1', lastHeardAt: 5, loaded: [{ view: 'v', version: 2 }, { view: 'v', version: 3 }, { view: 'other', version: 9 }] },
      { nodeId: 'n2', address: 'a2', lastHeardAt: 6, loaded: [{ view: 'v', version: 2 }] },
      { nodeId: 'n3', address: 'a3', lastHeardAt: 7, loaded: [{ view: 'other', version: 1 }] },
    ], {
      nodes: [
        { nodeId: 's1', address: 'b1', lastHeardAt: 1, views: [{ view: 'v', definitionHash: 'h', partitions: [] }], assigned: [{ view: 'v', partitions: [0, 1] }] },
        { nodeId: 's2', address: 'b2', lastHeardAt: 1, views: [], assigned: [{ view: 'other', partitions: [0] }] },
      ],
      handoffs: [{ view: 'v', handoffCut: [10, 20], cuts: [], currentVersion: 3, heldBy: [] }],
    });
    expect(d.servingNodes.map((n) => [n.nodeId, n.serves, n.loaded])).toEqual([['n1', 3, [2, 3]], ['n2', 2, [2]]]);
    expect(d.speed.nodes.map((n) => [n.nodeId, n.partitions])).toEqual([['s1', [0, 1]]]);
    expect(d.speed.handoff?.handoffCut).toEqual([10, 20]);
  });
});
