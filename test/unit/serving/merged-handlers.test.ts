import { unpack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/common/logger.js';
import { unpackEntries } from '../../../src/protocol/packed-entries.js';
import { createQueryHandlers } from '../../../src/serving/query-handlers.js';
import { SpeedReads } from '../../../src/serving/speed-reads.js';
import { VersionSet } from '../../../src/serving/version-set.js';
import { FakeSpeed } from '../../support/fake-speed.js';
import { byUtf8, collect, openVersion, rng, useTempDirs, writeVersion } from './helpers.js';

const tempDir = useTempDirs();
const log = silentLogger();
const CUT = [5, 6, 7];

// A custom monoid the serving node cannot run: a list of the parts merged,
// kept sorted, so an answer shows exactly which sides went into it.
type Acc = string[];
const plus = (a: unknown, b: unknown): Acc => [...(a as Acc), ...(b as Acc)].sort();

describe('query handlers merging a custom monoid\'s batch with its speed side', () => {
  const fakes: FakeSpeed[] = [];
  let reads: SpeedReads | undefined;
  afterEach(async () => {
    reads?.close();
    await Promise.all(fakes.splice(0).map((f) => f.stop()));
  });

  it('answers Get and pages of Scan as batch ⊕ both processes, computed plainly (seeded)', async () => {
    const random = rng(5);
    const batch = new Map<string, Acc>();
    const speed = [new Map<string, Acc>(), new Map<string, Acc>()];
    for (let i = 0; i < 300; i++) {
      const key = `k${Math.floor(random() * 400)}`;
      const r = random();
      if (r < 0.5) batch.set(key, [`b${i}`]);
      else speed[r < 0.75 ? 0 : 1]!.set(key, [`s${i}`]);
    }
    const expected = new Map<string, Acc>(batch);
    for (const s of speed) for (const [k, acc] of s) expected.set(k, plus(expected.get(k) ?? [], acc));

    const root = await tempDir();
    await writeVersion(root, { view: 'v', version: 4, entries: batch, partitions: 3, cut: CUT });
    const set = new VersionSet();
    set.add(await openVersion(root, 'v', 4, { merge: 'custom' }));
    set.setCurrent('v', 4);
    for (const [i, s] of speed.entries()) {
      const f = await new FakeSpeed({ nodeId: `speed-${i}`, partitions: i === 0 ? [0, 1] : [2], cut: CUT, plus }).start();
      fakes.push(f);
      for (const [k, acc] of s) f.accs.set(k, acc);
    }
    fakes[0]!.advance({ 0: 9, 1: 8 });
    fakes[1]!.advance({ 2: 11 });
    reads = new SpeedReads({ clock: systemClock, log });
    const q = createQueryHandlers(set, { log, speed: reads, placement: () => ({ speed: fakes.map((f) => f.location), windowSizeMs: 0 }) });

    const keys = [...new Set([...expected.keys(), 'absent'])];
    const got = await q.get({ view: 'v', keys });
    expect(got.coverage).toMatchObject({ speed: [9, 8, 11], uncovered: [] });
    expect(got.entries.map((e) => (e.found ? unpack(e.value as Buffer) : undefined))).toEqual(keys.map((k) => expected.get(k)));
    // Packed for the wire: the same merged answer (a read with a speed side never goes straight from the blocks).
    const packed = await q.getPacked({ view: 'v', keys });
    expect(packed.coverage).toMatchObject({ speed: [9, 8, 11], uncovered: [] });
    expect(unpackEntries(packed.packed).map((e) => (e.found ? unpack(Buffer.from(e.value)) : undefined))).toEqual(keys.map((k) => expected.get(k)));

    const sorted = [...expected].sort((x, y) => byUtf8(x[0], y[0]));
    const pages: Array<[string, unknown]> = [];
    for (let from: string | undefined; ;) {
      const chunks = await collect(q.scan({ view: 'v', limit: 9, ...(from !== undefined ? { from } : {}) }));
      const entries = chunks.flatMap((c) => c.entries);
      expect(chunks[0]!.coverage.speed).toEqual([9, 8, 11]);
      pages.push(...entries.map((e): [string, unknown] => [e.key, unpack(e.value as Buffer)]));
      if (entries.length < 9) break;
      from = `${entries[entries.length - 1]!.key}\u0000`;
    }
    expect(pages).toEqual(sorted);
    await set.closeAll();
  });

  it('waits for a speed process to be placed when a read asks for offsets past the cut, then merges; fails in time when none comes', async () => {
    const root = await tempDir();
    await writeVersion(root, { view: 'v', version: 4, entries: new Map([['k', ['b']]]), partitions: 1, cut: CUT });
    const set = new VersionSet();
    set.add(await openVersion(root, 'v', 4, { merge: 'custom' }));
    set.setCurrent('v', 4);
    const f = await new FakeSpeed({ nodeId: 'speed-0', partitions: [0, 1, 2], cut: CUT, plus }).start();
    fakes.push(f);
    f.accs.set('k', ['s']);
    f.advance({ 0: 6, 1: 7, 2: 8 });
    reads = new SpeedReads({ clock: systemClock, log });
    // The node hears of the speed process only at a later heartbeat.
    let placed = false;
    const q = createQueryHandlers(set, { log, speed: reads, placement: () => (placed ? { speed: [f.location], windowSizeMs: 0 } : undefined) });
    const timer = setTimeout(() => { placed = true; }, 300);
    const got = await q.get({ view: 'v', keys: ['k'], atLeast: [6, 7, 8], waitMs: 5000 });
    clearTimeout(timer);
    expect(got.coverage.speed).toEqual([6, 7, 8]);
    expect(unpack(got.entries[0]!.value as Buffer)).toEqual(['b', 's']);
    // Without a speed process in time: the batch-only answer cannot reach the offsets, and says so.
    placed = false;
    await expect(q.get({ view: 'v', keys: ['k'], atLeast: [6, 7, 8], waitMs: 200 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    // Offsets the cut already reaches need no speed process.
    const atCut = await q.get({ view: 'v', keys: ['k'], atLeast: CUT, waitMs: 200 });
    expect(atCut.coverage.speed).toBeUndefined();
    await set.closeAll();
  });
});
