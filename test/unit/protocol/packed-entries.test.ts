/**
 * Packed view entries (GetResponse.packed, ScanChunk.packed): what the
 * server packs, the client unpacks to the same entries, whatever the keys
 * and values; bytes that do not parse fail loudly.
 */
import { describe, expect, it } from 'vitest';
import type { ServedEntry } from '../../../src/common/serving-shapes.js';
import { PackedWriter, packEntries, unpackEntries } from '../../../src/protocol/packed-entries.js';

const plain = (entries: readonly ServedEntry[]): unknown[] => entries.map((e) => ({ ...e, value: Buffer.from(e.value).toString('hex') }));

/** Seeded random entries: keys of ASCII, multi-byte and astral characters, values of any bytes, every flag combination. */
function randomEntries(seed: number, count: number): ServedEntry[] {
  let s = seed >>> 0;
  const next = (n: number): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
  const chars = ['a', 'Z', '0', '/', '\u00e9', '\u20ac', '\u{1F600}', '\u0000'];
  return Array.from({ length: count }, (): ServedEntry => {
    const key = Array.from({ length: next(90) }, () => chars[next(chars.length)]!).join('');
    const value = Uint8Array.from({ length: next(2) === 0 ? next(20) : next(400) }, () => next(256));
    const found = next(2) === 0;
    const f = next(3);
    return f === 0 ? { key, value, found } : { key, value, found, final: f === 1 };
  });
}

describe('packed view entries', () => {
  it('unpack to the entries packed, in order, for any keys and values', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const entries = randomEntries(seed, seed % 40);
      expect(plain(unpackEntries(packEntries(entries)))).toEqual(plain(entries));
    }
  });

  it('keep edge entries: empty key and value, a key past 127 bytes, a value past 16 KB, multi-byte characters, no entries at all', () => {
    const entries: ServedEntry[] = [
      { key: '', value: new Uint8Array(0), found: false },
      { key: 'k'.repeat(200), value: new Uint8Array(20_000).fill(7), found: true },
      { key: '€'.repeat(50), value: Uint8Array.of(1, 2, 3), found: true, final: true },
      { key: '["a",1700000000000]', value: Uint8Array.of(0xc0), found: true, final: false },
    ];
    const back = unpackEntries(packEntries(entries));
    expect(plain(back)).toEqual(plain(entries));
    expect(Buffer.byteLength(back[2]!.key)).toBe(150);
    expect(unpackEntries(packEntries([]))).toEqual([]);
  });

  it('takes exactly the bytes of each entry: a flag byte, a length and the key, a length and the value', () => {
    const packed = packEntries([{ key: 'ab', value: Uint8Array.of(9), found: true }]);
    expect([...packed]).toEqual([1, 2, 0x61, 0x62, 1, 9]);
  });

  it('refuses bytes cut short or not packed entries, never answering a wrong entry', () => {
    const packed = packEntries([{ key: 'key-1', value: Buffer.from('value'), found: true }]);
    for (let cut = 1; cut < packed.length; cut++) {
      expect(() => unpackEntries(packed.subarray(0, cut))).toThrow(/Expected packed view entries/);
    }
    expect(() => unpackEntries(Buffer.from([0x40, 0, 0]))).toThrow(/flags 64/);
    expect(() => unpackEntries(Buffer.from([1, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(/more than 5 bytes/);
  });

  it('PackedWriter packs found entries from bytes as packEntries packs them, growing past its first size, and starts over at take()', () => {
    const w = new PackedWriter(16);
    for (let seed = 1; seed <= 40; seed++) {
      const entries = randomEntries(seed, seed % 25).map((e): ServedEntry => ({ key: e.key, value: e.value, found: true }));
      for (const e of entries) {
        const key = Buffer.concat([Buffer.from(e.key), Buffer.from('junk')]);
        const block = Buffer.concat([Buffer.from('before'), e.value, Buffer.from('after')]);
        w.addFound(key, Buffer.byteLength(e.key), block, 6, 6 + e.value.length);
      }
      expect(w.count).toBe(entries.length);
      const packed = w.take();
      expect(packed).toEqual(packEntries(entries));
      expect(w.count).toBe(0);
      expect(w.size).toBe(0);
    }
  });

  it('PackedWriter packs entries found or not as packEntries does, and copy() answers them in a buffer of their own and starts over', () => {
    const w = new PackedWriter(64);
    const answers: Buffer[] = [];
    const expected: Buffer[] = [];
    for (let seed = 1; seed <= 30; seed++) {
      // Seed 7 packs some 10 MB: the writer grows, and lets that buffer go at copy().
      const entries = randomEntries(seed, seed === 7 ? 25_000 : seed % 25).map((e): ServedEntry => ({ key: e.key, value: e.value, found: e.found }));
      for (const e of entries) {
        const key = Buffer.concat([Buffer.from(e.key), Buffer.from('junk')]);
        if (e.found) w.addFound(key, Buffer.byteLength(e.key), Buffer.concat([Buffer.from('xy'), e.value]), 2, 2 + e.value.length);
        else w.addNotFound(key, Buffer.byteLength(e.key), Buffer.from(e.value));
      }
      answers.push(w.copy());
      expected.push(packEntries(entries));
      expect(w.size).toBe(0);
      // A cleared answer leaves nothing behind.
      w.addFound(Buffer.from('gone'), 4, Buffer.from('v'), 0, 1);
      w.clear();
    }
    // Each answer is a copy: the writer's later entries did not overwrite the earlier ones.
    expect(answers.length).toBe(expected.length);
    for (let i = 0; i < answers.length; i++) expect(answers[i]!.equals(expected[i]!), `answer ${i}`).toBe(true);
    expect(answers.some((a) => a.length > 1024 * 1024)).toBe(true);
  });

  it('PackedWriter with headroom keeps that many free bytes before every chunk, in a buffer of its own (never the shared pool)', () => {
    const w = new PackedWriter(64, 100);
    for (let seed = 1; seed <= 10; seed++) {
      const entries = randomEntries(seed, 1 + seed * 3).map((e): ServedEntry => ({ key: e.key, value: e.value, found: true }));
      for (const e of entries) w.addFound(Buffer.from(e.key), Buffer.byteLength(e.key), Buffer.from(e.value), 0, e.value.length);
      expect(w.size).toBe(packEntries(entries).length);
      const packed = w.take();
      expect(packed).toEqual(packEntries(entries));
      expect(packed.byteOffset).toBe(100);
      // The headroom is the consumer's: writing it leaves the entries and later chunks alone.
      new Uint8Array(packed.buffer, 0, 100).fill(0xee);
      expect(unpackEntries(packed).map((e) => [e.key, Buffer.from(e.value)])).toEqual(entries.map((e) => [e.key, Buffer.from(e.value)]));
    }
  });
});
