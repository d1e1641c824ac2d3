import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack } from 'msgpackr';
import type { Coverage, GetQuery, ScanQuery } from '../../../src/common/serving-shapes.js';
import type { ServedView } from '../../../src/common/view-shapes.js';
import { newServer } from '../../../src/protocol/flow-control.js';
import { bindServer, type BoundServer } from '../../../src/protocol/master-rpc.js';
import { serveServing, ServingClient } from '../../../src/protocol/serving-rpc.js';
import { ViewsClient, viewsService, type SpeedViewHandlers, type ViewHandlers } from '../../../src/protocol/view-rpc.js';

// The wire of merged queries, both ways: what a client asks (batch only,
// atLeast, waitMs) is what the serving node's handlers get; the coverage's
// speed fields and each entry's final come back as sent, and a batch-only
// coverage comes back without any speed field. The master's served views
// carry the speed locations, window size and source partitions it gives.
describe('merged query wire mapping', () => {
  const seen: Array<GetQuery | ScanQuery> = [];
  const merged: Coverage = {
    version: 3, cut: [10, 20], speed: [15, 20], lag: 7, freshnessMs: 250,
    uncovered: [{ partition: 1, reason: 'speed process s1: gone' }], watermark: 120_000,
  };
  let serving: BoundServer;
  let client: ServingClient;
  let master: BoundServer;
  let views: ViewsClient;
  const served: ServedView[] = [
    { view: 'v', merge: 'sum', current: 3, versions: [{ version: 3, cut: [10, 20], dir: '/d/v3' }], speed: [{ nodeId: 's1', address: '127.0.0.1:9', partitions: [0, 1] }], windowSizeMs: 60_000, sourcePartitions: 2 },
    { view: 'w', merge: 'sum', current: 1, versions: [{ version: 1, cut: [5, 6, 7], dir: '/d/w1' }] },
  ];

  beforeAll(async () => {
    serving = await serveServing({
      get(q) {
        seen.push(q);
        const coverage = q.batchOnly === true ? { version: 3, cut: [10, 20] } : q.keys[0] === 'nofresh' ? { ...merged, freshnessMs: undefined } : merged;
        const { freshnessMs, ...rest } = coverage as Coverage;
        return Promise.resolve({ view: q.view, coverage: freshnessMs === undefined ? rest : coverage, entries: q.keys.map((key, i) => ({ key, value: pack(i), found: true, ...(i === 0 ? { final: true } : i === 1 ? { final: false } : {}) })) });
      },
      async *scan(q) {
        seen.push(q);
        yield await Promise.resolve({ view: q.view, coverage: merged, entries: [{ key: 'a', value: pack(1), found: true, final: false }] });
      },
    }, '127.0.0.1', 0);
    client = new ServingClient(`127.0.0.1:${serving.port}`);
    const server = newServer();
    viewsService({ servingHeartbeat: () => served } as unknown as ViewHandlers, {} as unknown as SpeedViewHandlers)(server);
    master = await bindServer(server, '127.0.0.1', 0);
    views = new ViewsClient(`127.0.0.1:${master.port}`);
  });
  afterAll(async () => {
    client.close();
    views.close();
    await serving.close(0);
    await master.close(0);
  });

  it('carries batchOnly, atLeast and waitMs to the node, and the speed coverage and final flags back', async () => {
    const r = await client.get('v', ['k0', 'k1', 'k2'], 3, { atLeast: [15, 20], waitMs: 800 });
    expect(seen.at(-1)).toEqual({ view: 'v', keys: ['k0', 'k1', 'k2'], version: 3, atLeast: [15, 20], waitMs: 800 });
    expect(r.coverage).toEqual(merged);
    expect(r.entries.map((e) => e.final)).toEqual([true, false, undefined]);

    const b = await client.get('v', ['k'], undefined, { batchOnly: true });
    expect(seen.at(-1)).toEqual({ view: 'v', keys: ['k'], batchOnly: true });
    expect(b.coverage).toEqual({ version: 3, cut: [10, 20] });

    const n = await client.get('v', ['nofresh']);
    expect(seen.at(-1)).toEqual({ view: 'v', keys: ['nofresh'] });
    expect(n.coverage.freshnessMs).toBeUndefined();
    expect(n.coverage.speed).toEqual([15, 20]);

    const chunks = [];
    for await (const c of client.scan({ view: 'v', limit: 5, batchOnly: true, atLeast: [1, 2], waitMs: 3 })) chunks.push(c);
    expect(seen.at(-1)).toEqual({ view: 'v', limit: 5, batchOnly: true, atLeast: [1, 2], waitMs: 3 });
    expect(chunks.map((c) => [c.coverage, c.entries.map((e) => e.final)])).toEqual([[merged, [false]]]);
  });

  it('carries the speed locations, window size and source partitions of served views from the master', async () => {
    const got = await views.servingHeartbeat({ nodeId: 'n', address: '127.0.0.1:1', loaded: [], refused: [], refusalReason: '' });
    expect(got).toEqual([
      served[0],
      // No speed location, no window; source partitions from the current cut.
      { ...served[1], speed: [], windowSizeMs: 0, sourcePartitions: 3 },
    ]);
  });
});
