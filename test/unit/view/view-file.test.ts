import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ViewFileReader, type ViewScanOptions } from '../../../src/view/view-file-reader.js';
import { ViewFileWriter } from '../../../src/view/view-file-writer.js';
import { byUtf8, collect, referenceEntries, rejectsWith, rng, throwsWith, useTempDirs, writeView } from './helpers.js';

/** What a scan of `entries` (sorted) returns, computed plainly from its options. */
function referenceScan(entries: readonly [string, Buffer][], o: ViewScanOptions): [string, Buffer][] {
  const out = entries.filter(([k]) =>
    (o.from === undefined || byUtf8(k, o.from) >= 0) &&
    (o.to === undefined || byUtf8(k, o.to) < 0) &&
    (o.prefix === undefined || k.startsWith(o.prefix)));
  return o.limit === undefined ? out : out.slice(0, o.limit);
}

function asPairs(entries: readonly { key: string; value: Buffer }[]): [string, Buffer][] {
  return entries.map((e) => [e.key, Buffer.from(e.value)]);
}

/** Entries with values as base64: deep equality of big Buffers is slow in expect(). */
function b64(entries: readonly (readonly [string, Uint8Array])[]): [string, string][] {
  return entries.map(([k, v]) => [k, Buffer.from(v).toString('base64')]);
}

describe('view file', () => {
  const tempDir = useTempDirs();

  for (const { name, count, valueBytes, options, syncReads } of [
    { name: 'many small blocks, restart every 3', count: 3000, valueBytes: 40, options: { blockBytes: 4096, restartInterval: 3 }, syncReads: true },
    { name: 'restart at every entry, reads in the thread pool', count: 800, valueBytes: 10, options: { blockBytes: 4096, restartInterval: 1 }, syncReads: false },
    { name: 'default options', count: 2000, valueBytes: 100, options: {}, syncReads: true },
  ]) {
    it(`reads back what was written, against a sorted map (${name})`, async () => {
      const random = rng(count);
      const entries = referenceEntries(random, count, () => Math.floor(random() * valueBytes));
      const path = join(await tempDir(), 'part-00000.view');
      const summary = await writeView(path, entries, options);

      const bytes = await readFile(path);
      expect(summary).toEqual({
        records: count,
        bytes: bytes.length,
        checksum: crc32(bytes),
        firstKey: entries[0]![0],
        lastKey: entries.at(-1)![0],
        blocks: summary.blocks,
      });
      if (options.blockBytes !== undefined) expect(summary.blocks).toBeGreaterThan(2);

      const r = await ViewFileReader.open(path, { syncReads });
      expect([r.records, r.blocks, r.firstKey, r.lastKey]).toEqual([count, summary.blocks, entries[0]![0], entries.at(-1)![0]]);
      expect(await r.verify({ checksum: summary.checksum })).toEqual({ checksum: summary.checksum, bytes: bytes.length });
      expect(asPairs(await collect(r.scan()))).toEqual(entries);
      for (const [k, v] of entries) expect(await r.get(k), k).toEqual(v);

      // MultiGet: present and absent keys, shuffled, one repeated.
      const asked = [...entries.filter(() => random() < 0.1).map(([k]) => k), 'absent', '', '\u{10ffff}\u{10ffff}\u{10ffff}', entries[5]![0]];
      asked.sort(() => random() - 0.5);
      const want = new Map(entries);
      expect(await r.multiGet(asked)).toEqual(asked.map((k) => want.get(k)));
      await r.close();
    });
  }

  it('orders by UTF-8 bytes, not UTF-16 code units: U+FFFD before U+1F600', async () => {
    const dir = await tempDir();
    const entries: [string, Buffer][] = [['\ufffd', Buffer.from([1])], ['\u{1f600}', Buffer.from([2])]];
    await writeView(join(dir, 'a.view'), entries);
    const r = await ViewFileReader.open(join(dir, 'a.view'));
    expect(asPairs(await collect(r.scan()))).toEqual(entries);
    expect(await r.get('\u{1f600}')).toEqual(Buffer.from([2]));
    await r.close();

    const w = await ViewFileWriter.create(join(dir, 'b.view'));
    w.add('\u{1f600}', Buffer.from([2]));
    throwsWith(() => w.add('\ufffd', Buffer.from([1])), 'INVALID_ARGUMENT', /"\ufffd" after "\u{1f600}" \(out of order\)/u);
    await w.abort();
  });

  it('reads a file whose blocks\' last keys, whole, take far more bytes than its prefix-compressed index', async () => {
    const path = join(await tempDir(), 'long-prefix.view');
    const prefix = 'page/'.repeat(60);
    const entries = Array.from({ length: 3000 }, (_, i): [string, Buffer] => [`${prefix}${String(i).padStart(8, '0')}`, Buffer.alloc(40, i % 251)]);
    await writeView(path, entries, { blockBytes: 4096 });
    const r = await ViewFileReader.open(path);
    expect(r.blocks).toBeGreaterThan(30);
    await r.verify();
    expect(await r.multiGet([entries[0]![0], entries[1777]![0], entries[2999]![0], `${prefix}x`])).toEqual([entries[0]![1], entries[1777]![1], entries[2999]![1], undefined]);
    expect((await collect(r.scan({ from: entries[1500]![0], limit: 3 }))).map((e) => e.key)).toEqual([1500, 1501, 1502].map((i) => entries[i]![0]));
    await r.close();
  });

  it('writes and reads an empty view', async () => {
    const path = join(await tempDir(), 'empty.view');
    const summary = await writeView(path, []);
    expect(summary).toMatchObject({ records: 0, blocks: 0, firstKey: undefined, lastKey: undefined });
    const r = await ViewFileReader.open(path);
    expect([r.records, r.blocks, r.firstKey, r.lastKey]).toEqual([0, 0, undefined, undefined]);
    expect((await r.verify({ checksum: summary.checksum })).checksum).toBe(crc32(await readFile(path)));
    expect(await r.get('')).toBeUndefined();
    expect(await r.get('a')).toBeUndefined();
    expect(await r.multiGet(['a', ''])).toEqual([undefined, undefined]);
    expect(await collect(r.scan())).toEqual([]);
    expect(await collect(r.scan({ prefix: '' }))).toEqual([]);
    await r.close();
  });

  it('holds one key, and the empty string as a key', async () => {
    const dir = await tempDir();
    await writeView(join(dir, 'one.view'), [['', Buffer.from('empty key')]]);
    const r = await ViewFileReader.open(join(dir, 'one.view'));
    expect(r.firstKey).toBe('');
    expect(r.lastKey).toBe('');
    expect(await r.get('')).toEqual(Buffer.from('empty key'));
    expect(await r.get('a')).toBeUndefined();
    expect(asPairs(await collect(r.scan({ from: '' })))).toEqual([['', Buffer.from('empty key')]]);
    expect(asPairs(await collect(r.scan({ from: '', to: '' })))).toEqual([]);
    await r.close();

    await writeView(join(dir, 'two.view'), [['', Buffer.from([0])], ['\u0000', Buffer.from([1])], ['a', Buffer.from([])]]);
    const r2 = await ViewFileReader.open(join(dir, 'two.view'));
    expect(await r2.multiGet(['a', '\u0000', ''])).toEqual([Buffer.from([]), Buffer.from([1]), Buffer.from([0])]);
    await r2.close();
  });

  it('keeps values larger than a block, each in a block of its own', async () => {
    const random = rng(7);
    const entries = referenceEntries(random, 60, () => (random() < 0.3 ? 20_000 + Math.floor(random() * 50_000) : 30));
    const path = join(await tempDir(), 'big.view');
    const summary = await writeView(path, entries, { blockBytes: 4096 });
    const r = await ViewFileReader.open(path);
    await r.verify({ checksum: summary.checksum });
    expect(b64(asPairs(await collect(r.scan())))).toEqual(b64(entries));
    for (const [k, v] of entries) expect((await r.get(k))!.equals(v)).toBe(true);
    await r.close();
  });

  it('packs JS values with msgpack through addValue', async () => {
    const path = join(await tempDir(), 'values.view');
    const w = await ViewFileWriter.create(path);
    const values: [string, unknown][] = [['a', 42], ['b', { set: ['x', 'y'], n: 1.5 }], ['c', null], ['d', 'text']];
    for (const [k, v] of values) w.addValue(k, v);
    await w.finish();
    const r = await ViewFileReader.open(path);
    for (const [k, v] of values) expect(unpack((await r.get(k))!)).toEqual(v);
    await r.close();
  });

  it('answers Gets before the first key, after the last, between keys, and at both ends', async () => {
    const entries: [string, Buffer][] = [];
    for (let i = 10; i < 400; i += 2) entries.push([`k${String(i).padStart(3, '0')}`, Buffer.from(String(i))]);
    const path = join(await tempDir(), 'range.view');
    await writeView(path, entries, { blockBytes: 4096, restartInterval: 4 });
    const r = await ViewFileReader.open(path);
    expect(r.blocks).toBeGreaterThan(0);
    for (const absent of ['', 'a', 'k', 'k01', 'k009', 'k0100', 'k100 ', 'k101', 'k011', 'k399', 'k9', 'l', '\u{10ffff}']) expect(await r.get(absent), absent).toBeUndefined();
    expect(await r.get('k010')).toEqual(Buffer.from('10'));
    expect(await r.get('k398')).toEqual(Buffer.from('398'));
    expect(await r.get('k200')).toEqual(Buffer.from('200'));
    await r.close();
  });

  it('scans with from, to, prefix and limit as the reference filters them', async () => {
    const random = rng(11);
    const entries = referenceEntries(random, 1500, () => 8);
    const path = join(await tempDir(), 'scan.view');
    await writeView(path, entries, { blockBytes: 4096, restartInterval: 5 });
    const r = await ViewFileReader.open(path);
    const bound = (): string | undefined => {
      const x = random();
      if (x < 0.25) return undefined;
      if (x < 0.6) return entries[Math.floor(random() * entries.length)]![0];
      const chars = [...entries[Math.floor(random() * entries.length)]![0]];
      return chars.slice(0, Math.floor(random() * (chars.length + 1))).join('') + (random() < 0.5 ? '\u0000' : '');
    };
    const prefixes = ['', 'page/', 'page/1', 'page/1a', 'user\u00e9', '\u{1f600}', '\u{1f600}/\u{10000}', 'zz', '\u{10ffff}'];
    for (let t = 0; t < 300; t++) {
      const o: { from?: string; to?: string; prefix?: string; limit?: number } = {};
      const from = bound();
      const to = bound();
      if (from !== undefined) o.from = from;
      if (to !== undefined) o.to = to;
      if (random() < 0.4) o.prefix = prefixes[Math.floor(random() * prefixes.length)]!;
      if (random() < 0.3) o.limit = Math.floor(random() * 50);
      expect(asPairs(await collect(r.scan(o))), JSON.stringify(o)).toEqual(referenceScan(entries, o));
    }
    // A prefix made of U+10FFFF's bytes (f4 8f bf bf) ends after every key that starts with it.
    expect(asPairs(await collect(r.scan({ prefix: '' })))).toEqual(entries);
    throwsWith(() => r.scan({ limit: -1 }), 'INVALID_ARGUMENT', /limit/);
    throwsWith(() => r.scan({ from: '\ud800' }), 'INVALID_ARGUMENT', /lone surrogate/);
    await r.close();
  });

  it('refuses an unsorted or duplicate key naming both, and leaves no file behind', async () => {
    for (const [first, second, what] of [['b', 'a', 'out of order'], ['a', 'a', 'a duplicate key'], ['ab', 'a', 'out of order']] as const) {
      const dir = await tempDir();
      const path = join(dir, 'part.view');
      const w = await ViewFileWriter.create(path);
      w.add('0', Buffer.from([0]));
      w.add(first, Buffer.from([1]));
      throwsWith(() => w.add(second, Buffer.from([2])), 'INVALID_ARGUMENT', new RegExp(`got "${second}" after "${first}" \\(${what}\\)`));
      throwsWith(() => w.add('zzz', Buffer.from([3])), 'FAILED_PRECONDITION', /an earlier call failed/);
      await rejectsWith(w.finish(), 'FAILED_PRECONDITION', /Cannot finish view file/);
      expect(await readdir(dir)).toEqual([]);
      await w.abort();
    }
  });

  it('removes its temporary file on abort, and shows no file at the final path before finish', async () => {
    const dir = await tempDir();
    const path = join(dir, 'part.view');
    const w = await ViewFileWriter.create(path, { blockBytes: 4096 });
    for (let i = 0; i < 1000; i++) w.add(`k${String(i).padStart(4, '0')}`, Buffer.alloc(50, i));
    await w.flush();
    const names = await readdir(dir);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^part\.view\.[0-9a-f]{12}\.tmp$/);
    await w.abort();
    await w.abort();
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses keys with a lone surrogate, and Gets of them', async () => {
    const dir = await tempDir();
    const w = await ViewFileWriter.create(join(dir, 'x.view'));
    throwsWith(() => w.add('a\ud800', Buffer.from([1])), 'INVALID_ARGUMENT', /lone surrogate/);
    await w.abort();
    await writeView(join(dir, 'y.view'), [['\ufffd', Buffer.from([1])]]);
    const r = await ViewFileReader.open(join(dir, 'y.view'));
    // '\ud800' would encode as U+FFFD and find this key: a wrong answer.
    await rejectsWith(r.get('\ud800'), 'INVALID_ARGUMENT', /lone surrogate/);
    await r.close();
  });

  it('returns the same summary from a second finish, keeps the file on a later abort, and checks its options and limits', async () => {
    const dir = await tempDir();
    const path = join(dir, 'once.view');
    const w = await ViewFileWriter.create(path);
    w.add('a', Buffer.from([1]));
    const summary = await w.finish();
    expect(await w.finish()).toBe(summary);
    await w.abort();
    expect(await readdir(dir)).toEqual(['once.view']);
    throwsWith(() => w.add('b', Buffer.from([2])), 'FAILED_PRECONDITION', /it was finished/);

    await rejectsWith(ViewFileWriter.create(join(dir, 'x.view'), { blockBytes: 100 }), 'INVALID_ARGUMENT', /Expected blockBytes to be an integer from 4096 to 16777216, got 100/);
    await rejectsWith(ViewFileWriter.create(join(dir, 'x.view'), { restartInterval: 0 }), 'INVALID_ARGUMENT', /restartInterval/);
    const big = await ViewFileWriter.create(join(dir, 'big.view'));
    throwsWith(() => big.add('k'.repeat(64 * 1024 + 1), Buffer.from([1])), 'INVALID_ARGUMENT', /Expected a key of at most 65536 bytes of UTF-8/);
    await big.abort();
    const big2 = await ViewFileWriter.create(join(dir, 'big2.view'));
    // 30,000 characters of 3 bytes each: few characters, too many bytes.
    throwsWith(() => big2.add('\u4e2d'.repeat(30_000), Buffer.from([1])), 'INVALID_ARGUMENT', /got 90000 bytes/);
    await big2.abort();
    const bad = await ViewFileWriter.create(join(dir, 'bad.view'));
    throwsWith(() => bad.add('a', 'not bytes' as unknown as Uint8Array), 'INVALID_ARGUMENT', /as msgpack bytes \(a Uint8Array\), got 'not bytes'/);
    await bad.abort();
    expect((await readdir(dir)).sort()).toEqual(['once.view']);
  });
});
