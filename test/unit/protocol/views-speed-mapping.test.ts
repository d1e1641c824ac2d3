/**
 * The Views service's speed-layer mapping, both ways, on a real server on
 * loopback: a speed heartbeat's reports (stopped, busy, watermark present
 * or absent) and its leaving flag reach the handler as sent; the
 * assignment, the speed status and a serving heartbeat's current versions
 * and leaving flag come back as the handlers made them; a serving
 * assignment carries its speed locations, window size and source partitions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpeedAssignment, SpeedHeartbeat } from '../../../src/common/speed-shapes.js';
import type { SpeedStatus } from '../../../src/common/speed-status.js';
import type { ServedView, ServingHeartbeat } from '../../../src/common/view-shapes.js';
import { newServer } from '../../../src/protocol/flow-control.js';
import { bindServer, type BoundServer } from '../../../src/protocol/master-rpc.js';
import { ViewsClient, viewsService, type ViewHandlers } from '../../../src/protocol/view-rpc.js';

const seen: { speed: Array<[SpeedHeartbeat, boolean]>; serving: ServingHeartbeat[]; forgot: string[] } = { speed: [], serving: [], forgot: [] };
const ASSIGNMENT: SpeedAssignment = {
  views: [{ view: 'pages', source: 'clicks', bundleHash: 'b'.repeat(64), definitionHash: 'd'.repeat(64), merge: 'topK(3)', partitions: [1, 3], cuts: [[1, 2, 3, 4], [5, 6, 7, 8]], handoffCut: [1, 2, 3, 4] }],
};
const STATUS: SpeedStatus = {
  nodes: [{
    nodeId: 'speed-1', address: '127.0.0.1:9', lastHeardAt: 77,
    views: [{ view: 'pages', definitionHash: 'd', partitions: [{ partition: 1, applied: 9, start: 2, end: 12, caughtUpAt: 0, busy: 'restoring' }] }],
    assigned: [{ view: 'pages', partitions: [1, 3] }],
  }],
  handoffs: [{ view: 'pages', handoffCut: [1, 2, 3, 4], cuts: [[1, 2, 3, 4]], currentVersion: 5, heldBy: [{ nodeId: 'serving-1', version: 4, live: false, lastHeardAt: 12 }] }],
};
const SERVED: ServedView = {
  view: 'pages', merge: 'sum', current: 2, versions: [{ version: 2, cut: [4, 4], dir: '/v2' }],
  speed: [{ nodeId: 'speed-1', address: '127.0.0.1:9', partitions: [0, 1] }], windowSizeMs: 60_000, sourcePartitions: 2,
};

const unused = (): never => { throw new Error('not called'); };
const handlers: ViewHandlers = {
  deployView: unused, buildView: unused, listViews: unused, viewVersions: unused, rollbackView: unused, diffView: unused, listServingNodes: unused,
  servingHeartbeat(hb) {
    seen.serving.push(hb);
    return [SERVED];
  },
};

let server: BoundServer;
let client: ViewsClient;

beforeAll(async () => {
  const s = newServer();
  viewsService(handlers, {
    speedHeartbeat(hb, leaving) {
      seen.speed.push([hb, leaving]);
      return Promise.resolve(ASSIGNMENT);
    },
    listSpeedNodes: () => Promise.resolve(STATUS),
    forgetServingNode(id) {
      seen.forgot.push(id);
      return id === 'serving-1';
    },
  })(s);
  server = await bindServer(s, '127.0.0.1', 0);
  client = new ViewsClient(`127.0.0.1:${server.port}`);
});
afterAll(async () => {
  client.close();
  await server.close();
});

describe('the Views service\'s speed mapping', () => {
  it('carries a speed heartbeat\'s reports and leaving flag, and the assignment back', async () => {
    const hb: SpeedHeartbeat = {
      nodeId: 'speed-1', address: '127.0.0.1:9',
      views: [
        {
          view: 'pages', definitionHash: 'd', watermark: 120_000,
          partitions: [
            { partition: 1, applied: 9, start: 2, end: 12, caughtUpAt: 55, stopped: { offset: 9, message: 'map threw: boom' } },
            { partition: 3, applied: 4, start: 4, end: 4, caughtUpAt: 0, busy: 'splitting a segment' },
          ],
        },
        { view: 'plain', definitionHash: 'e', partitions: [] },
      ],
    };
    expect(await client.speedHeartbeat(hb)).toEqual(ASSIGNMENT);
    expect(seen.speed.at(-1)).toEqual([hb, false]);
    await client.speedHeartbeat({ ...hb, views: [] }, true);
    expect(seen.speed.at(-1)).toEqual([{ ...hb, views: [] }, true]);
  });

  it('carries the speed status and a forget', async () => {
    expect(await client.listSpeedNodes()).toEqual(STATUS);
    expect(await client.forgetServingNode('serving-1')).toBe(true);
    expect(await client.forgetServingNode('serving-2')).toBe(false);
    expect(seen.forgot).toEqual(['serving-1', 'serving-2']);
  });

  it('carries a serving heartbeat\'s current versions and leaving flag, and the speed fields of its assignment', async () => {
    const hb: ServingHeartbeat = {
      nodeId: 'serving-1', address: 'a', loaded: [{ view: 'pages', version: 2 }, { view: 'pages', version: 1 }], refused: [], refusalReason: '',
      current: [{ view: 'pages', version: 2 }],
    };
    expect(await client.servingHeartbeat(hb)).toEqual([SERVED]);
    expect(seen.serving.at(-1)).toEqual({ ...hb, leaving: false });
    await client.servingHeartbeat({ ...hb, current: [], leaving: true });
    expect(seen.serving.at(-1)).toMatchObject({ current: [], leaving: true });
  });
});
