import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { ServingDirectory } from '../../../src/client/serving-directory.js';
import { ViewQueries } from '../../../src/client/view-queries.js';
import { LaminateError } from '../../../src/common/errors.js';
import type { GetAnswer, ScanChunkAnswer, ScanQuery } from '../../../src/common/serving-shapes.js';
import { encodeViewKey } from '../../../src/common/view-key.js';

/** Two versions of 1000 keys; version v's value of key i is v * 10000 + i. */
const KEYS = Array.from({ length: 1000 }, (_, i) => `key${String(i).padStart(4, '0')}`);
const valueOf = (v: number, i: number): number => v * 10000 + i;

/**
 * A node answering from the reference versions (current: `current`), in
 * chunks of 50; `failAfter` chunks into a scan it fails as a dying node
 * would (UNAVAILABLE).
 */
function fakeNode(address: string, current: number, failAfter?: number): { address: string; scans: ScanQuery[]; scan(q: ScanQuery): AsyncGenerator<ScanChunkAnswer>; get(view: string, keys: readonly string[], version?: number): Promise<GetAnswer> } {
  const scans: ScanQuery[] = [];
  return {
    address,
    scans,
    async *scan(q: ScanQuery) {
      scans.push(q);
      const v = q.version ?? current;
      const coverage = { version: v, cut: [v] };
      const picked = KEYS.map((k, i) => [k, i] as const).filter(([k]) => (q.from === undefined || k >= q.from) && (q.to === undefined || k < q.to));
      const limited = q.limit === undefined ? picked : picked.slice(0, q.limit);
      for (let c = 0; c * 50 < limited.length || c === 0; c++) {
        if (failAfter !== undefined && c === failAfter) throw new LaminateError('UNAVAILABLE', `node ${address} went away`);
        await Promise.resolve();
        yield { view: q.view, coverage, entries: limited.slice(c * 50, c * 50 + 50).map(([k, i]) => ({ key: k, value: pack(valueOf(v, i)), found: true })) };
      }
    },
    async get(view, keys, version) {
      const v = version ?? current;
      return { view, coverage: { version: v, cut: [v] }, entries: keys.map((k) => ({ key: k, value: pack(valueOf(v, KEYS.indexOf(k))), found: true })) };
    },
  };
}

/** A directory over fake nodes, in the order given (the real one ranks them; here the test does). */
function directory(nodes: ReturnType<typeof fakeNode>[]): ServingDirectory {
  const next = async (_view: string, _version: number | undefined, tried: Set<string>): Promise<ReturnType<typeof fakeNode> | undefined> => {
    const n = nodes.find((x) => !tried.has(x.address));
    if (n) tried.add(n.address);
    return n;
  };
  return {
    failed: () => undefined,
    next,
    async whyNone() {
      return new LaminateError('UNAVAILABLE', 'no node left');
    },
    async withNode<T>(view: string, version: number | undefined, fn: (n: unknown) => Promise<T>): Promise<T> {
      const tried = new Set<string>();
      for (;;) {
        const n = await next(view, version, tried);
        if (!n) throw new LaminateError('UNAVAILABLE', 'no node left');
        try {
          return await fn(n);
        } catch (err) {
          if (!(err instanceof LaminateError) || err.code !== 'UNAVAILABLE') throw err;
        }
      }
    },
  } as unknown as ServingDirectory;
}

async function drain(it: AsyncIterable<{ key: unknown; value: unknown }>): Promise<Array<{ key: unknown; value: unknown }>> {
  const out = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('ViewScan', () => {
  it('goes on from the next key on another node, at the same version, when its node goes away: nothing repeated, nothing skipped', async () => {
    // The dying node serves version 2; the other one has moved on to 3 but keeps 2.
    const dying = fakeNode('a', 2, 3);
    const other = fakeNode('b', 3);
    const scan = new ViewQueries(directory([dying, other])).scan('v', { from: 'key0100', limit: 600 });
    const got = await drain(scan);
    expect(got).toEqual(KEYS.slice(100, 700).map((k, j) => ({ key: k, value: valueOf(2, 100 + j) })));
    expect(scan.coverage).toEqual({ version: 2, cut: [2] });
    expect(other.scans).toEqual([{ view: 'v', version: 2, from: `${KEYS[249]!}\u0000`, limit: 450 }]);
  });

  it('throws what no node could answer, and a non-movable error at once', async () => {
    await expect(drain(new ViewQueries(directory([fakeNode('a', 1, 0), fakeNode('b', 1, 0)])).scan('v'))).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'node b went away' });
    const lossy = fakeNode('a', 1);
    lossy.scan = async function* () {
      yield* [];
      throw new LaminateError('DATA_LOSS', 'damaged');
    };
    const healthy = fakeNode('b', 1);
    await expect(drain(new ViewQueries(directory([lossy, healthy])).scan('v'))).rejects.toMatchObject({ code: 'DATA_LOSS' });
    expect(healthy.scans).toEqual([]);
  });
});

describe('read your writes', () => {
  it('does not move a scan with atLeast to another node on TIMEOUT (the node\'s answer), but does without it', async () => {
    const late = (): ReturnType<typeof fakeNode> => {
      const n = fakeNode('a', 1);
      n.scan = async function* () {
        yield* [];
        throw new LaminateError('TIMEOUT', 'the speed side did not reach 5 in time');
      };
      return n;
    };
    const other = fakeNode('b', 1);
    await expect(drain(new ViewQueries(directory([late(), other])).scan('v', { atLeast: [5], waitMs: 10 }))).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(other.scans).toEqual([]);
    expect((await drain(new ViewQueries(directory([late(), other])).scan('v'))).length).toBe(KEYS.length);
    expect(other.scans.length).toBe(1);
  });
});

describe('multiGet', () => {
  it('asks a large MultiGet merged with a speed side again in one request, so that every key comes from one speed snapshot', async () => {
    const sizes: number[] = [];
    const node = fakeNode('a', 5);
    const get = node.get;
    let snapshot = 0;
    node.get = async (view, keys, version) => {
      sizes.push(keys.length);
      const r = await get(view, keys, version);
      return { ...r, coverage: { ...r.coverage, speed: [100 + snapshot++], lag: 0, uncovered: [] } };
    };
    const keys = Array.from({ length: 25_000 }, (_, i) => KEYS[i % 1000]!);
    const r = await new ViewQueries(directory([node])).multiGet('v', keys, { atLeast: [100], waitMs: 10 });
    expect(sizes).toEqual([10_000, 25_000]);
    expect(r.coverage.speed).toEqual([101]);
    expect(r.results.map((x) => x.value)).toEqual(keys.map((_, i) => valueOf(5, i % 1000)));
    // A batch-only answer (no speed fields) keeps its parts.
    const plain = fakeNode('a', 5);
    const plainGet = plain.get;
    const plainSizes: number[] = [];
    plain.get = async (view, ks, version) => {
      plainSizes.push(ks.length);
      return plainGet(view, ks, version);
    };
    await new ViewQueries(directory([plain])).multiGet('v', keys, { batchOnly: true });
    expect(plainSizes).toEqual([10_000, 10_000, 5000]);
    await expect(new ViewQueries(directory([node])).multiGet('v', keys, { atLeast: [-1] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('pins the parts of a large MultiGet to the version of the first part', async () => {
    const calls: Array<number | undefined> = [];
    const node = fakeNode('a', 5);
    const get = node.get;
    node.get = async (view, keys, version) => {
      calls.push(version);
      return get(view, keys, version);
    };
    const keys = Array.from({ length: 25_000 }, (_, i) => KEYS[i % 1000]!);
    const r = await new ViewQueries(directory([node])).multiGet('v', keys);
    expect(calls).toEqual([undefined, 5, 5]);
    expect(r.coverage.version).toBe(5);
    expect(r.results.map((x) => x.value)).toEqual(keys.map((_, i) => valueOf(5, i % 1000)));
    expect(r.results[0]!.key).toBe(KEYS[0]);
    // Tuple keys go encoded and come back decoded.
    const sent: string[][] = [];
    const tupleNode = fakeNode('a', 1);
    const tupleGet = tupleNode.get;
    tupleNode.get = async (view, ks, version) => {
      sent.push([...ks]);
      return tupleGet(view, ks, version);
    };
    const one = await new ViewQueries(directory([tupleNode])).get('v', ['x', 1]);
    expect(sent).toEqual([[encodeViewKey(['x', 1])]]);
    expect(one.key).toEqual(['x', 1]);
  });
});
