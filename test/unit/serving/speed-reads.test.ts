import { afterEach, describe, expect, it } from 'vitest';
import { pack, unpack } from 'msgpackr';
import { ManualClock, systemClock } from '../../../src/common/clock.js';
import { createLogger } from '../../../src/common/logger.js';
import type { SpeedGetQuery } from '../../../src/common/speed-shapes.js';
import { SpeedReads, type SpeedPlacement } from '../../../src/serving/speed-reads.js';
import { FakeSpeed } from '../../support/fake-speed.js';

// A custom monoid, as a speed process would run it: counts and the set of
// sources seen, so an answer tells which sides went into it.
interface Acc { n: number; from: string[] }
const plus = (a: unknown, b: unknown): Acc => {
  const x = a as Acc;
  const y = b as Acc;
  return { n: x.n + y.n, from: [...new Set([...x.from, ...y.from])].sort() };
};
const acc = (n: number, from: string): Acc => ({ n, from: [from] });

const CUT = [10, 20, 30];
const AT = { cut: CUT, definitionHash: '0123456789abcdef' };
const log = createLogger({ level: 'silent' });

describe('SpeedReads', () => {
  const fakes: FakeSpeed[] = [];
  let reads: SpeedReads | undefined;
  afterEach(async () => {
    reads?.close();
    reads = undefined;
    await Promise.all(fakes.splice(0).map((f) => f.stop()));
  });

  async function start(nodeId: string, partitions: number[], custom = true): Promise<FakeSpeed> {
    const f = await new FakeSpeed({ nodeId, partitions, cut: CUT, ...(custom ? { plus } : {}) }).start();
    fakes.push(f);
    return f;
  }
  const placement = (...fs: FakeSpeed[]): SpeedPlacement => ({ speed: fs.map((f) => f.location), windowSizeMs: 0 });
  const newReads = (): SpeedReads => (reads ??= new SpeedReads({ clock: systemClock, log, callTimeoutMs: 5000 }));

  it('chains a custom monoid\'s Get through every speed process, each given the previous answer as base', async () => {
    const a = await start('speed-a', [0, 1]);
    const b = await start('speed-b', [2]);
    a.accs.set('k', acc(2, 'a')).set('only-speed', acc(1, 'a'));
    b.accs.set('k', acc(5, 'b'));
    a.advance({ 0: 15, 1: 22 });
    b.advance({ 2: 31 });
    const keys = ['k', 'only-speed', 'nowhere'];
    const stored = [pack(acc(100, 'batch')), undefined, undefined];
    const r = await newReads().get('v', 3, AT, 'custom', placement(a, b), keys, stored, {});
    expect(r.side.mode).toBe('replace');
    const value = (k: string): unknown => (r.side.accs.has(k) ? unpack(r.side.accs.get(k) as Buffer) : undefined);
    expect(value('k')).toEqual({ n: 107, from: ['a', 'b', 'batch'] });
    expect(value('only-speed')).toEqual({ n: 1, from: ['a'] });
    expect(value('nowhere')).toBeUndefined();
    // b was given a's answer as the base of k.
    const toB = b.queries[0] as SpeedGetQuery;
    expect(unpack(toB.base![0]!)).toEqual({ n: 102, from: ['a', 'batch'] });
    expect(r.coverage.speed).toEqual([15, 22, 31]);
    expect(r.coverage.uncovered).toEqual([]);
    expect(a.queries.map((q) => q.cut)).toEqual([CUT]);
  });

  it('chains a custom monoid\'s Get with a repeated key: every process\'s part is in its answer once', async () => {
    const a = await start('speed-a', [0, 1]);
    const b = await start('speed-b', [2]);
    a.accs.set('k', acc(2, 'a'));
    b.accs.set('k', acc(5, 'b'));
    a.advance({ 0: 15, 1: 22 });
    b.advance({ 2: 31 });
    const batch = pack(acc(100, 'batch'));
    const r = await newReads().get('v', 3, AT, 'custom', placement(a, b), ['k', 'x', 'k'], [batch, undefined, batch], {});
    expect(unpack(r.side.accs.get('k') as Buffer)).toEqual({ n: 107, from: ['a', 'b', 'batch'] });
    expect(r.coverage.speed).toEqual([15, 22, 31]);
  });

  it('asks again when a custom monoid\'s speed side gains a key between the scan and the Get, so the answer is one snapshot', async () => {
    const a = await start('speed-a', [0, 1, 2]);
    a.accs.set('b', acc(1, 'a')).set('d', acc(2, 'a'));
    let gets = 0;
    a.beforeAnswer = (q) => {
      if ('keys' in q && ++gets === 1) a.accs.set('c', acc(3, 'a'));
    };
    const batch = new Map([['a', acc(10, 'batch')], ['c', acc(20, 'batch')]]);
    const r = await newReads().scan('v', 1, AT, 'custom', placement(a), {}, undefined, {}, (keys) => Promise.resolve(keys.map((k) => (batch.has(k) ? pack(batch.get(k)) : undefined))));
    expect(gets).toBe(2);
    expect(r.keys).toEqual(['b', 'c', 'd']);
    expect(unpack(r.side.accs.get('c') as Buffer)).toEqual({ n: 23, from: ['a', 'batch'] });
  });

  it('leaves the partitions of a speed process that does not answer uncovered, with the reason, and merges only the others', async () => {
    const a = await start('speed-a', [0, 1], false);
    const b = await start('speed-b', [2], false);
    a.accs.set('k', 4);
    b.accs.set('k', 1000);
    a.advance({ 0: 12, 1: 25 });
    b.advance({ 2: 40 });
    await b.stop();
    const r = await newReads().get('v', 1, AT, 'sum', placement(a, b), ['k'], [pack(1)], {});
    expect(r.side.mode).toBe('plus');
    expect(r.side.accs.get('k')).toBe(4);
    expect(r.coverage.speed).toEqual([12, 25, 30]);
    expect(r.coverage.uncovered).toEqual([{ partition: 2, reason: expect.stringMatching(/speed-b/) as unknown }]);
  });

  it('waits for atLeast until the speed side reaches it, and fails naming the partitions behind when it does not in time', async () => {
    const a = await start('speed-a', [0, 1, 2], false);
    a.accs.set('k', 1);
    a.onWait = () => a.advance({ 0: 11, 1: 21, 2: 31 });
    const r = await newReads().get('v', 1, AT, 'sum', placement(a), ['k'], [undefined], { atLeast: [11, 21, 31], waitMs: 30_000 });
    expect(r.coverage.speed).toEqual([11, 21, 31]);
    // waitMs alone: the speed process may wait that long for partitions not at the cut yet.
    await newReads().get('v', 1, AT, 'sum', placement(a), ['k'], [undefined], { waitMs: 20_000 });
    expect(a.queries.at(-1)).toMatchObject({ atLeast: CUT, waitMs: expect.any(Number) as unknown });
    await newReads().get('v', 1, AT, 'sum', placement(a), ['k'], [undefined], {});
    expect((a.queries.at(-1) as SpeedGetQuery).atLeast).toBeUndefined();
    const late = newReads().get('v', 1, AT, 'sum', placement(a), ['k'], [undefined], { atLeast: [11, 99, 31], waitMs: 300 });
    await expect(late).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/partition 1 at 21 < 99/) as unknown });
  });

  it('closes the channel to a speed process not asked for five minutes, and opens one again when asked', async () => {
    const a = await start('speed-a', [0, 1, 2], false);
    const b = await start('speed-b', [0, 1, 2], false);
    const clock = new ManualClock(1_000_000);
    const own = new SpeedReads({ clock, log });
    try {
      await own.get('v', 1, AT, 'sum', placement(a), ['k'], [undefined], {});
      await own.get('v', 1, AT, 'sum', placement(b), ['k'], [undefined], {});
      expect(own.channels).toBe(2);
      clock.advance(4 * 60_000);
      await own.get('v', 1, AT, 'sum', placement(b), ['k'], [undefined], {});
      clock.advance(2 * 60_000);
      await own.get('v', 1, AT, 'sum', placement(b), ['k'], [undefined], {});
      expect(own.channels).toBe(1);
      const again = await own.get('v', 1, AT, 'sum', placement(a), ['k'], [undefined], {});
      expect(again.coverage.uncovered).toEqual([]);
      expect(own.channels).toBe(2);
    } finally {
      own.close();
    }
  });
});
