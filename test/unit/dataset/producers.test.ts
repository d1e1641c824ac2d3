import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/common/clock.js';
import { ProducerStateTable } from '../../../src/dataset/producer-state.js';
import { appendOne, batchOf, openStore, partitionPath, readAll, records, rejectsWith, throwsWith, useTempDirs } from './helpers.js';

const DAY = 86_400_000;

describe('idempotent producers (table)', () => {
  const limits = { expirationMs: 7 * DAY, maxProducers: 3 };
  const ref = { dataset: 'd', partition: 2 };

  it('knows a repeat of any of the last 5 batches and forgets older ones', () => {
    const t = new ProducerStateTable(limits, ref);
    for (let i = 0; i < 7; i++) {
      expect(t.check('p', i * 10, 10, 0)).toEqual({ kind: 'new', skip: 0 });
      t.record('p', i * 10, 10, 1000 + i * 10, 0);
    }
    for (let i = 2; i < 7; i++) expect(t.check('p', i * 10, 10, 0)).toEqual({ kind: 'duplicate', firstOffset: 1000 + i * 10, skip: 0 });
    throwsWith(() => t.check('p', 10, 10, 0), 'OUT_OF_ORDER_SEQUENCE', /Expected sequence 70 from producer 'p' on 'd' partition 2, got 10 for 10 records \(sequences below 70 are stored/);
    throwsWith(() => t.check('p', 60, 5, 0), 'OUT_OF_ORDER_SEQUENCE', /Expected sequence 70/); // same start, other count: not a repeat
    throwsWith(() => t.check('p', 80, 10, 0), 'OUT_OF_ORDER_SEQUENCE', /got 80 for 10 records \(a batch before it is missing\)/);
    expect(t.nextSequence('p', 0)).toBe(70);
  });

  it('skips the records a replay had stored before, however the replay batches them', () => {
    const t = new ProducerStateTable(limits, ref);
    t.record('p', 0, 10, 100, 0);
    t.record('p', 10, 10, 120, 0); // another producer's records in between: offsets 110-119
    // Without replay, an old sequence that is not a remembered batch is refused.
    throwsWith(() => t.check('p', 0, 4, 0), 'OUT_OF_ORDER_SEQUENCE', /Expected sequence 20/);
    // Wholly below the next sequence: a duplicate whose offsets are not known.
    expect(t.check('p', 0, 4, 0, true)).toEqual({ kind: 'duplicate', firstOffset: -1, skip: 4 });
    expect(t.check('p', 2, 6, 0, true)).toEqual({ kind: 'duplicate', firstOffset: -1, skip: 6 });
    // Ending where a remembered batch ends: its records are that batch, at its offsets.
    expect(t.check('p', 4, 16, 0, true)).toEqual({ kind: 'duplicate', firstOffset: 120, skip: 6 });
    // An exact repeat of a remembered batch keeps its offsets.
    expect(t.check('p', 10, 10, 0, true)).toEqual({ kind: 'duplicate', firstOffset: 120, skip: 0 });
    // Straddling the next sequence: the head is skipped, the tail is new.
    expect(t.check('p', 15, 10, 0, true)).toEqual({ kind: 'new', skip: 5 });
    t.record('p', 20, 5, 130, 0);
    // The same straddling batch again (its acknowledgement lost): a duplicate, with the tail's offsets.
    expect(t.check('p', 15, 10, 0, true)).toEqual({ kind: 'duplicate', firstOffset: 130, skip: 5 });
    expect(t.check('p', 25, 3, 0, true)).toEqual({ kind: 'new', skip: 0 });
    // A gap is refused, replay or not.
    throwsWith(() => t.check('p', 26, 3, 0, true), 'OUT_OF_ORDER_SEQUENCE', /Expected sequence 25 .* got 26 for 3 records \(a batch before it is missing\)/);
    // A producer the partition does not know replays from 0 like a new one.
    expect(t.check('fresh', 0, 3, 0, true)).toEqual({ kind: 'new', skip: 0 });
    throwsWith(() => t.check('fresh', 3, 3, 0, true), 'OUT_OF_ORDER_SEQUENCE', /does not know/);
  });

  it('requires sequence 0 from a producer it does not know', () => {
    const t = new ProducerStateTable(limits, ref);
    throwsWith(() => t.check('new', 5, 1, 0), 'OUT_OF_ORDER_SEQUENCE', /Expected sequence 0 from producer 'new', which 'd' partition 2 does not know \(new, or idle longer than 7 days\), got 5/);
    expect(t.nextSequence('new', 0)).toBe(0);
  });

  it('forgets a producer idle past the expiry, and the least recent one past the cap', () => {
    const t = new ProducerStateTable(limits, ref);
    t.record('old', 0, 1, 0, 0);
    t.record('a', 0, 1, 1, DAY);
    expect(t.nextSequence('old', 7 * DAY)).toBe(1);
    expect(t.nextSequence('old', 7 * DAY + 1)).toBe(0);
    t.record('b', 0, 1, 2, 2 * DAY);
    t.record('c', 0, 1, 3, 3 * DAY);
    t.record('a', 1, 1, 4, 4 * DAY); // a is now the most recent
    t.record('d', 0, 1, 5, 5 * DAY); // over the cap of 3: b goes
    expect(t.size).toBe(3);
    expect(t.nextSequence('b', 5 * DAY)).toBe(0);
    expect(t.nextSequence('a', 5 * DAY)).toBe(2);
    expect(t.expire(3 * DAY + 7 * DAY + 1)).toBe(1); // c
    expect(t.size).toBe(2);
  });

  it('round-trips through a snapshot, and refuses a damaged one or one of another offset', () => {
    const t = new ProducerStateTable(limits, ref);
    t.record('p', 0, 3, 10, 5);
    t.record('p', 3, 2, 13, 6);
    t.record('q', 0, 1, 15, 7);
    const snap = t.encodeSnapshot(16);
    const u = new ProducerStateTable(limits, ref);
    expect(u.loadSnapshot(snap, 16)).toBe(true);
    expect(u.check('p', 0, 3, 8)).toEqual({ kind: 'duplicate', firstOffset: 10, skip: 0 });
    expect(u.nextSequence('p', 8)).toBe(5);
    expect(u.nextSequence('q', 8)).toBe(1);
    expect(new ProducerStateTable(limits, ref).loadSnapshot(snap, 17)).toBe(false);
    const bad = Buffer.from(snap);
    bad[bad.length - 1]! ^= 1;
    const v = new ProducerStateTable(limits, ref);
    expect(v.loadSnapshot(bad, 16)).toBe(false);
    expect(v.size).toBe(0);
  });
});

describe('idempotent producers (store)', () => {
  const tempDir = useTempDirs();

  it('answers a repeated batch with its first offsets and stores it once', async () => {
    const store = await openStore(await tempDir());
    await store.createDataset('d', { partitions: 1 });
    const a = records('a', 0, 3);
    const b = records('b', 0, 2);
    expect(await appendOne(store, batchOf('d', 0, a, { id: 'p', sequence: 0 }))).toEqual({ partition: 0, firstOffset: 0, count: 3, duplicate: false, skipped: 0 });
    expect(await appendOne(store, batchOf('d', 0, ['other'], { id: 'q', sequence: 0 }))).toMatchObject({ firstOffset: 3 });
    expect(await appendOne(store, batchOf('d', 0, b, { id: 'p', sequence: 3 }))).toEqual({ partition: 0, firstOffset: 4, count: 2, duplicate: false, skipped: 0 });
    expect(await appendOne(store, batchOf('d', 0, a, { id: 'p', sequence: 0 }))).toEqual({ partition: 0, firstOffset: 0, count: 3, duplicate: true, skipped: 0 });
    expect(await appendOne(store, batchOf('d', 0, b, { id: 'p', sequence: 3 }))).toEqual({ partition: 0, firstOffset: 4, count: 2, duplicate: true, skipped: 0 });
    // Equal records without a producer are distinct records.
    await appendOne(store, batchOf('d', 0, a));
    expect(await readAll(store, 'd', 0)).toEqual([...a, 'other', ...b, ...a]);
    await store.close();
  });

  it('stores each record of a replay once, across a reopen, whatever batches the replay sends', async () => {
    const dir = await tempDir();
    let store = await openStore(dir);
    await store.createDataset('d', { partitions: 1 });
    const all = records('r', 0, 40);
    // The first run stored 0-12 in two batches, then stopped; another producer appended meanwhile.
    await appendOne(store, batchOf('d', 0, all.slice(0, 5), { id: 'imp', sequence: 0, replay: true }));
    await appendOne(store, batchOf('d', 0, ['other'], { id: 'q', sequence: 0 }));
    await appendOne(store, batchOf('d', 0, all.slice(5, 13), { id: 'imp', sequence: 5, replay: true }));
    await store.close();
    store = await openStore(dir);
    // The replay batches by 7: 0-6 all stored, 7-13 straddles (7-12 stored), then the rest.
    const results = [];
    for (let s = 0; s < all.length; s += 7) {
      results.push(await appendOne(store, batchOf('d', 0, all.slice(s, s + 7), { id: 'imp', sequence: s, replay: true })));
    }
    expect(results[0]).toEqual({ partition: 0, firstOffset: -1, count: 0, duplicate: true, skipped: 7 });
    expect(results[1]).toEqual({ partition: 0, firstOffset: 14, count: 1, duplicate: false, skipped: 6 });
    expect(results[2]).toEqual({ partition: 0, firstOffset: 15, count: 7, duplicate: false, skipped: 0 });
    // A retry of the straddling batch is known, with its tail's offset.
    expect(await appendOne(store, batchOf('d', 0, all.slice(7, 14), { id: 'imp', sequence: 7, replay: true })))
      .toEqual({ partition: 0, firstOffset: 14, count: 1, duplicate: true, skipped: 6 });
    expect(await readAll(store, 'd', 0)).toEqual([...all.slice(0, 5), 'other', ...all.slice(5)]);
    // A replay without a producer id is refused.
    await rejectsWith(store.append([{ ...batchOf('d', 0, [1]), replay: true }]), 'INVALID_ARGUMENT', /Expected a producer id with replay/);
    await store.close();
  });

  it('answers a retry that arrives while its original is still being written, after the original is durable', async () => {
    const store = await openStore(await tempDir());
    await store.createDataset('d', { partitions: 1 });
    const batch = batchOf('d', 0, [1, 2], { id: 'p', sequence: 0 });
    const [first, retry] = await Promise.all([appendOne(store, batch), appendOne(store, batch)]);
    expect(first).toEqual({ partition: 0, firstOffset: 0, count: 2, duplicate: false, skipped: 0 });
    expect(retry).toEqual({ partition: 0, firstOffset: 0, count: 2, duplicate: true, skipped: 0 });
    expect(store.currentCut('d')).toEqual([2]);
    await store.close();
  });

  it('refuses a sequence out of order and changes nothing', async () => {
    const store = await openStore(await tempDir());
    await store.createDataset('d', { partitions: 2 });
    await rejectsWith(store.append([batchOf('d', 1, [1], { id: 'p', sequence: 4 })]), 'OUT_OF_ORDER_SEQUENCE', /Expected sequence 0 from producer 'p'/);
    await appendOne(store, batchOf('d', 1, [1, 2], { id: 'p', sequence: 0 }));
    await rejectsWith(store.append([batchOf('d', 1, [3], { id: 'p', sequence: 3 })]), 'OUT_OF_ORDER_SEQUENCE', /Expected sequence 2 from producer 'p' on 'd' partition 1, got 3/);
    // Sequences are per partition.
    expect((await appendOne(store, batchOf('d', 0, ['x'], { id: 'p', sequence: 0 }))).firstOffset).toBe(0);
    expect(store.currentCut('d')).toEqual([1, 2]);
    await store.close();
  });

  it('checks every batch of a call before writing any, but a sequence error concerns its batch alone', async () => {
    const store = await openStore(await tempDir());
    await store.createDataset('d', { partitions: 2 });
    const bad = { ...batchOf('d', 1, [1, 2]), count: 3 };
    await rejectsWith(store.append([batchOf('d', 0, ['kept?'], { id: 'p', sequence: 0 }), bad]), 'INVALID_ARGUMENT', /count says/);
    expect(store.currentCut('d')).toEqual([0, 0]);
    expect(store.nextSequence('d', 0, 'p')).toBe(0);
    // A sequence error on partition 1 rejects the call once all settled; partition 0's batch is stored...
    await rejectsWith(store.append([batchOf('d', 0, ['a'], { id: 'p', sequence: 0 }), batchOf('d', 1, ['b'], { id: 'p', sequence: 9 })]), 'OUT_OF_ORDER_SEQUENCE', /partition 1/);
    expect(store.currentCut('d')).toEqual([1, 0]);
    // ...and a retry of the whole call with the sequence fixed answers it as a duplicate.
    const retry = await store.append([batchOf('d', 0, ['a'], { id: 'p', sequence: 0 }), batchOf('d', 1, ['b'], { id: 'p', sequence: 0 })]);
    expect(retry).toEqual([
      { partition: 0, firstOffset: 0, count: 1, duplicate: true, skipped: 0 },
      { partition: 1, firstOffset: 0, count: 1, duplicate: false, skipped: 0 },
    ]);
    await store.close();
  });

  it('rebuilds producer state from the log at open, across segment rolls, with and without snapshots', async () => {
    const dir = await tempDir();
    const opts = { segmentBytes: 1024 };
    let store = await openStore(dir, opts);
    await store.createDataset('d', { partitions: 1 });
    const sent: { seq: number; recs: unknown[]; offset: number }[] = [];
    let seq = 0;
    for (let i = 0; i < 30; i++) {
      const recs = records(`s${i}`, 0, 1 + (i % 4));
      const r = await appendOne(store, batchOf('d', 0, recs, { id: 'p', sequence: seq }));
      sent.push({ seq, recs, offset: r.firstOffset });
      seq += recs.length;
    }
    await store.close();
    const pdir = partitionPath(dir, 'd', 0);
    const snapshots = (await readdir(pdir)).filter((n) => n.endsWith('.snapshot'));
    expect(snapshots.length).toBe(2); // the newest two are kept
    for (const variant of ['snapshots', 'damaged snapshot', 'no snapshots']) {
      if (variant === 'damaged snapshot') await writeFile(join(pdir, snapshots.sort().at(-1)!), 'garbage');
      if (variant === 'no snapshots') for (const s of snapshots) await rm(join(pdir, s), { force: true });
      store = await openStore(dir, opts);
      expect(store.nextSequence('d', 0, 'p'), variant).toBe(seq);
      for (const s of sent.slice(-5)) {
        expect(await appendOne(store, batchOf('d', 0, s.recs, { id: 'p', sequence: s.seq })), variant).toEqual({ partition: 0, firstOffset: s.offset, count: s.recs.length, duplicate: true, skipped: 0 });
      }
      await rejectsWith(store.append([batchOf('d', 0, sent[0]!.recs, { id: 'p', sequence: 0 })]), 'OUT_OF_ORDER_SEQUENCE');
      await store.close();
    }
  });

  it('forgets producers idle past the expiry, by the append times on disk, across a reopen', async () => {
    const dir = await tempDir();
    const clock = new ManualClock(1_000_000);
    let store = await openStore(dir, { clock, producerExpirationMs: DAY });
    await store.createDataset('d', { partitions: 1 });
    await appendOne(store, batchOf('d', 0, [1], { id: 'idle', sequence: 0 }));
    clock.advance(DAY / 2);
    await appendOne(store, batchOf('d', 0, [2], { id: 'busy', sequence: 0 }));
    await store.close();
    clock.advance(DAY / 2 + 1);
    store = await openStore(dir, { clock, producerExpirationMs: DAY });
    expect(store.nextSequence('d', 0, 'idle')).toBe(0);
    expect(store.nextSequence('d', 0, 'busy')).toBe(1);
    // The idle producer starts over at 0, as a new one.
    expect(await appendOne(store, batchOf('d', 0, [3], { id: 'idle', sequence: 0 }))).toMatchObject({ firstOffset: 2, duplicate: false });
    await store.close();
  });
});
