import { describe, expect, it } from 'vitest';
import { compareBytes, compareKeys } from '../../../src/storage/key-order.js';
import { byUtf8, pick, rng } from './helpers.js';

// Code points chosen around the places where UTF-16 and UTF-8 orders differ.
const ALPHABET = ['a', 'b', 'Z', '0', ' ', '\u00e9', '\u07ff', '\u0800', '\u4e2d', '\ud7ff', '\ue000', '\uf8ff', '\ufffd', '\uffff', '\u{10000}', '\u{1f600}', '\u{10ffff}'];

function randomKey(random: () => number): string {
  let s = '';
  const n = Math.floor(random() * 5);
  for (let i = 0; i < n; i++) s += pick(random, ALPHABET);
  return s;
}

describe('compareKeys', () => {
  it('agrees in sign with comparing the UTF-8 bytes of random keys', () => {
    const random = rng(1);
    for (let i = 0; i < 20_000; i++) {
      const a = randomKey(random);
      const b = randomKey(random);
      expect(Math.sign(compareKeys(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(byUtf8(a, b));
    }
  });

  it('puts a character above U+FFFF after U+FFFD and U+E000, where UTF-16 order puts it first', () => {
    expect('\u{1f600}' < '\ufffd').toBe(true); // the JS order this must not follow
    expect(compareKeys('\u{1f600}', '\ufffd')).toBeGreaterThan(0);
    expect(compareKeys('\ufffd', '\u{1f600}')).toBeLessThan(0);
    expect(compareKeys('x\u{10000}', 'x\ue000')).toBeGreaterThan(0);
    expect(compareKeys('\u{10000}a', '\u{10000}b')).toBeLessThan(0);
  });

  it('orders a prefix before the longer key and equal keys as equal', () => {
    expect(compareKeys('ab', 'abc')).toBeLessThan(0);
    expect(compareKeys('abc', 'ab')).toBeGreaterThan(0);
    expect(compareKeys('', 'a')).toBeLessThan(0);
    expect(compareKeys('h\u00e9', 'h\u00e9')).toBe(0);
  });

  it('sorts a list the same way as sorting by encoded bytes', () => {
    const random = rng(2);
    const keys = Array.from({ length: 2000 }, () => randomKey(random));
    expect([...keys].sort(compareKeys)).toEqual([...keys].sort(byUtf8));
  });
});

describe('compareBytes', () => {
  it('orders byte strings as unsigned bytes, shorter prefix first', () => {
    expect(compareBytes(Buffer.from([0x7f]), Buffer.from([0x80]))).toBeLessThan(0);
    expect(compareBytes(Buffer.from([1, 2]), Buffer.from([1, 2, 0]))).toBeLessThan(0);
    expect(compareBytes(new Uint8Array([0xff]), new Uint8Array([0x00, 0xff]))).toBeGreaterThan(0);
    expect(compareBytes(Buffer.from('abc'), Buffer.from('abc'))).toBe(0);
  });
});
