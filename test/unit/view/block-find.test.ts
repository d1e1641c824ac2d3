import { describe, expect, it } from 'vitest';
import { Block, BlockBuilder, BlockCursor } from '../../../src/view/view-block.js';
import { rng, throwsWith } from './helpers.js';

/** Sorted distinct byte keys: shared prefixes, keys that are prefixes of others, long ones (multi-byte varints), bytes up to 0xff. */
function keysOf(random: () => number, n: number): Buffer[] {
  const stems = [Buffer.from('key-000'), Buffer.from('key-0001'), Buffer.from([0xff, 0xfe]), Buffer.alloc(0), Buffer.alloc(150, 0x61)];
  const seen = new Map<string, Buffer>();
  while (seen.size < n) {
    const stem = stems[Math.floor(random() * stems.length)]!;
    const tail = Buffer.from(Array.from({ length: Math.floor(random() * 4) }, () => (random() < 0.2 ? 0xff : 0x30 + Math.floor(random() * 4))));
    const k = Buffer.concat([stem, tail]);
    seen.set(k.toString('hex'), k);
  }
  return [...seen.values()].sort(Buffer.compare);
}

/**
 * A block of `keys` (value i: i's bytes, some over 127 bytes), each key
 * sharing with the one before what `share` says (the longest common prefix,
 * or less: another writer may share fewer bytes than it could).
 */
function blockOf(keys: readonly Buffer[], interval: number, share: (longest: number) => number): Block {
  const b = new BlockBuilder(interval, 64);
  let previous: Buffer = Buffer.alloc(0);
  keys.forEach((k, i) => {
    let longest = 0;
    while (longest < k.length && longest < previous.length && k[longest] === previous[longest]) longest++;
    b.add(k, k.length, share(longest), Buffer.alloc(i % 7 === 0 ? 130 + (i % 5) : i % 5, i % 251));
    previous = k;
  });
  return Block.parse(Buffer.from(b.finish()), 'test block');
}

describe('BlockCursor.find', () => {
  it('finds exactly the keys seek() and keyEquals() find, with their values, whatever prefix the writer shared', () => {
    const random = rng(11);
    for (const interval of [1, 2, 16]) {
      for (const share of [(l: number) => l, (l: number) => Math.max(0, l - 1), () => 0]) {
        const keys = keysOf(random, 150);
        const block = blockOf(keys, interval, share);
        const probes = [...keys];
        for (const k of keys) {
          probes.push(Buffer.concat([k, Buffer.from([0])]), k.subarray(0, Math.max(0, k.length - 1)));
          if (k.length > 0) probes.push(Buffer.concat([k.subarray(0, k.length - 1), Buffer.from([(k[k.length - 1]! + 1) & 0xff])]));
        }
        probes.push(Buffer.alloc(0), Buffer.alloc(200, 0xff), Buffer.from('key-0000'), Buffer.from('a'));
        const f = new BlockCursor();
        const s = new BlockCursor();
        for (const p of probes) {
          const reference = s.seek(block, p) && s.keyEquals(p) ? Buffer.from(s.value()) : undefined;
          const found = f.find(block, p);
          expect(found, `${p.toString('hex')} interval ${interval}`).toBe(reference !== undefined);
          if (found) expect(Buffer.from(f.value())).toEqual(reference);
        }
        // Every stored key is found with its own value (independent of seek()).
        keys.forEach((k, i) => {
          expect(f.find(block, k)).toBe(true);
          expect(f.value()).toEqual(Buffer.alloc(i % 7 === 0 ? 130 + (i % 5) : i % 5, i % 251));
        });
      }
    }
  });

  it('answers not found in an empty block, and DATA_LOSS for an entry past the block rather than a value', () => {
    const empty = new BlockBuilder(16, 64);
    expect(new BlockCursor().find(Block.parse(Buffer.from(empty.finish()), 'empty block'), Buffer.from('k'))).toBe(false);
    const b = new BlockBuilder(16, 64);
    b.add(Buffer.from('a'), 1, 0, Buffer.alloc(3));
    b.add(Buffer.from('b'), 1, 0, Buffer.alloc(3));
    const payload = Buffer.from(b.finish());
    // The second entry (not a restart point: parse does not look at it) claims a 100-byte value.
    payload[7 + 2] = 100;
    const block = Block.parse(payload, 'damaged block');
    throwsWith(() => new BlockCursor().find(block, Buffer.from('b')), 'DATA_LOSS', /Malformed damaged block: the entry at 7 does not fit/);
  });
});
