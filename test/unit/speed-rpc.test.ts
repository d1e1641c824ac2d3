import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack, unpack } from 'msgpackr';
import { LaminateError } from '../../src/common/errors.js';
import type { SpeedAnswer, SpeedGetQuery, SpeedScanQuery } from '../../src/common/speed-shapes.js';
import type { BoundServer } from '../../src/protocol/master-rpc.js';
import { SpeedClient, serveSpeed } from '../../src/protocol/speed-rpc.js';

// The Speed service's mapping, both ways: what a serving node asks is what
// the engine is handed (absent optional fields stay absent), and what the
// engine answers is what the serving node gets.
describe('Speed service wire mapping', () => {
  const seen: Array<SpeedGetQuery | SpeedScanQuery> = [];
  let server: BoundServer;
  let client: SpeedClient;

  beforeAll(async () => {
    server = await serveSpeed({
      get(q) {
        seen.push(q);
        if (q.view === 'missing') return Promise.reject(new LaminateError('NOT_FOUND', "no view 'missing' here"));
        const answer: SpeedAnswer = {
          view: q.view,
          partitions: [
            { partition: 0, applied: q.cut[0]! + 5, lag: 2, caughtUpAt: 1234 },
            { partition: 1, applied: q.cut[1]!, lag: 7, caughtUpAt: 0, uncovered: 'not reached' },
          ],
          entries: q.keys.map((k, i) => ({ key: k, acc: pack(i + 1) })),
          watermark: 60_000,
        };
        return Promise.resolve(answer);
      },
      scan(q) {
        seen.push(q);
        return Promise.resolve({ view: q.view, partitions: [], entries: [{ key: 'b', acc: pack({ n: 1 }) }] });
      },
    }, '127.0.0.1', 0);
    client = new SpeedClient(`127.0.0.1:${server.port}`);
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('carries a get with its keys, cut, base and wait, and the answer with its coverage', async () => {
    const a = await client.get({ view: 'v', cut: [10, 20], definitionHash: 'abc123', keys: ['x', '["é",3]'], base: [pack(5), new Uint8Array()], atLeast: [11, 21], waitMs: 50 });
    expect(seen.at(-1)).toEqual({ view: 'v', cut: [10, 20], definitionHash: 'abc123', keys: ['x', '["é",3]'], base: [Buffer.from(pack(5)), Buffer.alloc(0)], atLeast: [11, 21], waitMs: 50 });
    expect(a.partitions).toEqual([
      { partition: 0, applied: 15, lag: 2, caughtUpAt: 1234 },
      { partition: 1, applied: 20, lag: 7, caughtUpAt: 0, uncovered: 'not reached' },
    ]);
    expect(a.entries.map((e) => [e.key, unpack(e.acc as Buffer)])).toEqual([['x', 1], ['["é",3]', 2]]);
    expect(a.watermark).toBe(60_000);
  });

  it('leaves absent options absent', async () => {
    const a = await client.get({ view: 'v', cut: [0, 0], keys: ['k'] });
    expect(seen.at(-1)).toEqual({ view: 'v', cut: [0, 0], keys: ['k'] });
    expect(a.entries).toHaveLength(1);
    await client.scan({ view: 'w', cut: [3], from: 'a', limit: 9, definitionHash: 'def456' });
    expect(seen.at(-1)).toEqual({ view: 'w', cut: [3], from: 'a', limit: 9, definitionHash: 'def456' });
    const s = await client.scan({ view: 'w', cut: [3], prefix: 'p' });
    expect(seen.at(-1)).toEqual({ view: 'w', cut: [3], prefix: 'p' });
    expect(s.watermark).toBeUndefined();
    expect(unpack(s.entries[0]!.acc as Buffer)).toEqual({ n: 1 });
  });

  it("passes the engine's NOT_FOUND to the caller", async () => {
    await expect(client.get({ view: 'missing', cut: [0], keys: ['k'] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
