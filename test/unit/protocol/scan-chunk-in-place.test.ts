import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coverage, ServedEntry } from '../../../src/common/serving-shapes.js';
import type { BoundServer } from '../../../src/protocol/master-rpc.js';
import { PackedWriter } from '../../../src/protocol/packed-entries.js';
import { serveServing, ServingClient, type PackedScanChunkAnswer } from '../../../src/protocol/serving-rpc.js';

// A packed Scan chunk with headroom is sent as a message encoded around its
// entries (view, coverage, then the packed field's tag and length written
// before them); without room enough, the usual way. Either way the client
// reads the same view, coverage and entries as were packed.
describe('Scan chunks encoded in place', () => {
  const small: Coverage = { version: 7, cut: [10, 20, 30] };
  // A coverage whose encoding needs more than 1 KiB: the fallback.
  const large: Coverage = { version: 8, cut: Array.from({ length: 400 }, (_, i) => 1_000_000_000 + i) };
  /** [entries, coverage, headroom] per chunk, as the handler sends them. */
  const sent: Array<[ServedEntry[], Coverage, number]> = [];
  let serving: BoundServer;
  let client: ServingClient;

  function entries(chunk: number, n: number): ServedEntry[] {
    // Sizes around the varint boundaries of the packed field's length (127/128, 16,383/16,384 bytes).
    return Array.from({ length: n }, (_, i) => ({ key: `c${chunk}-k${String(i).padStart(5, '0')}\u00e9`, value: Buffer.alloc((i * 37 + chunk) % 300, i & 0xff), found: true }));
  }

  beforeAll(async () => {
    const plan: Array<[number, Coverage, number]> = [[1, small, 1024], [3, small, 1024], [200, small, 1024], [0, small, 1024], [5, small, 0], [5, small, 20], [7, large, 1024], [2, small, 1024]];
    serving = await serveServing({
      get: () => Promise.reject(new Error('not used')),
      async *scan() {
        throw new Error('expected scanPacked to be used');
      },
      async *scanPacked(q): AsyncGenerator<PackedScanChunkAnswer> {
        for (const [c, [n, coverage, headroom]] of plan.entries()) {
          const w = new PackedWriter(64, headroom);
          const e = entries(c, n);
          for (const x of e) w.addFound(Buffer.from(x.key), Buffer.byteLength(x.key), Buffer.from(x.value), 0, x.value.length);
          sent.push([e, coverage, headroom]);
          yield await Promise.resolve({ view: q.view, coverage, packed: w.take(), headroom });
        }
      },
    }, '127.0.0.1', 0);
    client = new ServingClient(`127.0.0.1:${serving.port}`);
  });
  afterAll(async () => {
    client.close();
    await serving.close(0);
  });

  it('reads every chunk as it was packed, with or without room for the message around it', async () => {
    const got: Array<[string, Coverage, ServedEntry[]]> = [];
    for await (const c of client.scan({ view: 'kv-view' })) got.push([c.view, c.coverage, c.entries.map((e) => ({ key: e.key, value: Buffer.from(e.value), found: e.found }))]);
    expect(got).toEqual(sent.map(([e, coverage]) => ['kv-view', coverage, e]));
    // The plan crossed both varint boundaries of the packed length, and had chunks with and without room.
    expect(sent.some(([, , h]) => h === 0)).toBe(true);
    expect(got.map(([, , e]) => e.reduce((n, x) => n + x.value.length, 0)).some((bytes) => bytes > 16_384)).toBe(true);
  });
});
