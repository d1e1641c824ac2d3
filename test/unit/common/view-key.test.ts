import { describe, expect, it } from 'vitest';
import {
  compareKeyElements, decodeViewKey, encodeKeyPrefix, encodeViewKey, formatKeyArgument, parseKeyArgument,
  type KeyElement, type ViewKey,
} from '../../../src/common/view-key.js';
import { compareKeys } from '../../../src/storage/key-order.js';
import { seededRandom } from '../../support/seeded-random.js';
import { invalidArgument } from '../../support/invalid-argument.js';

// ---------------------------------------------------------------------------
// The reference: the documented order of view keys, computed on the keys
// themselves (never on their encodings): '' first, then tuples, then other
// strings; strings by UTF-8 bytes; tuples element by element, numbers before
// strings, numbers by value, a prefix before its extensions.

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

function refElement(a: KeyElement, b: KeyElement): number {
  if (typeof a === 'number' && typeof b === 'number') return a === b ? 0 : a < b ? -1 : 1; // -0 === 0
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return Buffer.compare(utf8(a), utf8(b));
}

function refCompare(a: ViewKey, b: ViewKey): number {
  const rank = (k: ViewKey): number => (typeof k === 'string' ? (k === '' ? 0 : 2) : 1);
  if (rank(a) !== rank(b)) return Math.sign(rank(a) - rank(b));
  if (typeof a === 'string' && typeof b === 'string') return Buffer.compare(utf8(a), utf8(b));
  const x = a as readonly KeyElement[];
  const y = b as readonly KeyElement[];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = refElement(x[i]!, y[i]!);
    if (c !== 0) return c;
  }
  return Math.sign(x.length - y.length);
}

/** Whether tuple `t` starts with the elements of `p` (reference, element by element). */
function refHasPrefix(t: readonly KeyElement[], p: readonly KeyElement[]): boolean {
  return p.length <= t.length && p.every((e, i) => refElement(e, t[i]!) === 0);
}

// Random keys from small pools, so ties, shared prefixes and edge values are common.
const NUMBERS = [
  0, -0, 1, -1, 2, -2, 0.5, -0.5, 1.5, 1e-300, -1e-300, 5e-324, -5e-324, Number.MAX_VALUE, -Number.MAX_VALUE,
  Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1_700_000_000_000, 1_700_000_060_000, 255, 256, 127, 128, 2 ** 32, -(2 ** 32),
];
const CHARS = ['a', 'b', 'z', '\u0000', '\u0001', '\u0002', '\u007f', '\u00ff', '\u0100', '\u00e9', '\ue000', '\uffff', '\u{10000}', '\u{1f600}', '[', '\\'];

function randomString(random: () => number, maxLength: number): string {
  let s = '';
  const n = Math.floor(random() * (maxLength + 1));
  for (let i = 0; i < n; i++) s += CHARS[Math.floor(random() * CHARS.length)]!;
  return s;
}

function randomNumber(random: () => number): number {
  const r = random();
  if (r < 0.6) return NUMBERS[Math.floor(random() * NUMBERS.length)]!;
  if (r < 0.8) return Math.floor((random() - 0.5) * 2000);
  return (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
}

function randomTuple(random: () => number): KeyElement[] {
  const n = 1 + Math.floor(random() * 4);
  return Array.from({ length: n }, () => (random() < 0.5 ? randomNumber(random) : randomString(random, 3)));
}

function randomKey(random: () => number): ViewKey {
  return random() < 0.3 ? randomString(random, 4) : randomTuple(random);
}

const show = (k: ViewKey): string => (typeof k === 'string' ? JSON.stringify(k) : `[${k.map((e) => (Object.is(e, -0) ? '-0' : JSON.stringify(e))).join(',')}]`);
const normalized = (k: ViewKey): ViewKey => (typeof k === 'string' ? k : k.map((e) => (e === 0 ? 0 : e)));

const invalid = invalidArgument;

describe('encodeViewKey order', () => {
  it('orders the UTF-8 bytes of encoded keys as the reference orders random keys', () => {
    const random = seededRandom(11);
    for (let i = 0; i < 30_000; i++) {
      const a = randomKey(random);
      const b = randomKey(random);
      const ea = encodeViewKey(a);
      const eb = encodeViewKey(b);
      const want = refCompare(a, b);
      expect(Math.sign(Buffer.compare(utf8(ea), utf8(eb))), `${show(a)} vs ${show(b)}`).toBe(want);
      expect(Math.sign(compareKeys(ea, eb)), `engine order, ${show(a)} vs ${show(b)}`).toBe(want);
    }
  });

  it('sorts a list of encoded keys into the reference order of the keys', () => {
    const random = seededRandom(12);
    const keys = Array.from({ length: 3000 }, () => randomKey(random));
    const byEncoding = keys.map((k) => ({ k, e: utf8(encodeViewKey(k)) })).sort((x, y) => Buffer.compare(x.e, y.e)).map((x) => x.k);
    const byReference = [...keys].sort(refCompare);
    // Equal keys (e.g. 0 and -0) may swap places: compare their normalized forms.
    expect(byEncoding.map(normalized)).toEqual(byReference.map(normalized));
  });

  it('orders numbers by value across signs, zeros, fractions and extremes', () => {
    const numbers = [-Number.MAX_VALUE, -1e300, -(2 ** 32), -256, -1.5, -1, -0.5, -5e-324, 0, 5e-324, 1e-300, 0.5, 1, 1.5, 127, 128, 255, 256, 1_700_000_000_000, Number.MAX_VALUE];
    const encoded = numbers.map((n) => encodeViewKey(['k', n]));
    expect([...encoded].sort(compareKeys)).toEqual(encoded);
    expect(encodeViewKey([-0])).toBe(encodeViewKey([0]));
  });

  it('orders the empty string first, then tuples, then other strings, escaped strings in their place', () => {
    const keys: ViewKey[] = ['', [-1], [5, 'a'], ['a'], ['a', 1], ['a\u0000'], ['ab'], '\u0000', '\u0000\u0000', '\u0001', '\u0002', '!', 'a', 'b'];
    const encoded = keys.map(encodeViewKey);
    expect([...encoded].sort(compareKeys)).toEqual(encoded);
  });
});

describe('encodeViewKey form', () => {
  it('leaves a string that does not start with U+0000 or U+0001 as it is', () => {
    for (const s of ['', 'page-7', '\u0002x', 'a\u0000b', '[1]', '\u{1f600}']) expect(encodeViewKey(s)).toBe(s);
    expect(encodeViewKey('\u0000x')).toBe('\u0001\u0000x');
    expect(encodeViewKey('\u0001')).toBe('\u0001\u0001');
  });

  it('keeps tuple strings readable and numbers to 11 one-byte characters', () => {
    expect(encodeViewKey(['page-7'])).toBe('\u0000\u0002page-7\u0000');
    expect(encodeViewKey(['a\u0000b\u0001'])).toBe('\u0000\u0002a\u0001\u0001b\u0001\u0002\u0000');
    const e = encodeViewKey([1_700_000_000_000]);
    expect(e).toHaveLength(12);
    expect(utf8(e)).toHaveLength(12);
  });

  it('round-trips random keys through decodeViewKey (-0 comes back as 0)', () => {
    const random = seededRandom(13);
    for (let i = 0; i < 20_000; i++) {
      const k = randomKey(random);
      const back = decodeViewKey(encodeViewKey(k));
      expect(back, show(k)).toEqual(normalized(k));
      if (Array.isArray(back)) expect(back.some((e) => Object.is(e, -0))).toBe(false);
    }
    expect(decodeViewKey(encodeViewKey([Number.MAX_VALUE, 5e-324, -5e-324]))).toEqual([Number.MAX_VALUE, 5e-324, -5e-324]);
  });

  it('refuses NaN, infinities, empty and nested tuples, other types and lone surrogates, naming them', () => {
    expect(invalid(() => encodeViewKey(['a', NaN])).message).toBe('Expected element 1 of a key tuple to be a string or a finite number, got NaN');
    expect(invalid(() => encodeViewKey([Infinity])).message).toContain('got Infinity');
    expect(invalid(() => encodeViewKey([-Infinity])).message).toContain('got -Infinity');
    expect(invalid(() => encodeViewKey([])).message).toBe('Expected a key tuple with at least one element, got []');
    expect(invalid(() => encodeViewKey(['a', ['b']] as unknown as ViewKey)).message).toContain('element 1 of a key tuple to be a string or a finite number, got an array');
    expect(invalid(() => encodeViewKey([true] as unknown as ViewKey)).message).toContain('got true');
    expect(invalid(() => encodeViewKey(7 as unknown as ViewKey)).message).toBe('Expected a view key to be a string or an array of strings and finite numbers, got 7');
    expect(invalid(() => encodeViewKey(null as unknown as ViewKey)).message).toContain('got null');
    expect(invalid(() => encodeViewKey({} as unknown as ViewKey)).message).toContain('got a object');
    expect(invalid(() => encodeViewKey('a\ud800b')).message).toContain('lone surrogate U+D800 at index 1');
    expect(invalid(() => encodeViewKey(['ok', '\udc00'])).message).toContain('lone surrogate U+DC00');
    expect(encodeViewKey('\ud83d\ude00')).toBe('\u{1f600}');
  });
});

describe('decodeViewKey', () => {
  it('refuses what the encoder never makes, saying what is wrong', () => {
    expect(invalid(() => decodeViewKey('\u0001abc')).message).toContain('U+0001 escapes only a string');
    expect(invalid(() => decodeViewKey('\u0001')).message).toContain('U+0001 escapes only a string');
    expect(invalid(() => decodeViewKey('\u0000')).message).toContain('at least one element');
    expect(invalid(() => decodeViewKey('\u0000\u0003x')).message).toContain('element tag');
    expect(invalid(() => decodeViewKey(encodeViewKey([5]).slice(0, -1))).message).toContain('10 characters of a number');
    expect(invalid(() => decodeViewKey('\u0000\u0002abc')).message).toContain('to end with U+0000');
    expect(invalid(() => decodeViewKey('\u0000\u0002a\u0001b\u0000')).message).toContain('U+0001 U+0001 or U+0001 U+0002 at 3');
    // The bits of -0 and of NaN, in the number layout: refused rather than read as numbers.
    expect(invalid(() => decodeViewKey(`\u0000\u0001${'\u0000'}${'\u007f'.repeat(9)}`)).message).toContain('a finite number');
    expect(invalid(() => decodeViewKey(`\u0000\u0001\u0001${'\u007f'.repeat(9)}`)).message).toContain('a finite number');
    expect(invalid(() => decodeViewKey(`\u0000\u0001\u0002${'\u0000'.repeat(9)}`)).message).toContain('7-bit number character');
  });
});

describe('encodeKeyPrefix', () => {
  it('gives a byte prefix of exactly the tuples that start with the prefix elements', () => {
    const random = seededRandom(14);
    const tuples = Array.from({ length: 400 }, () => randomTuple(random));
    for (let i = 0; i < 300; i++) {
      const from = tuples[Math.floor(random() * tuples.length)]!;
      const prefix = from.slice(0, Math.floor(random() * (from.length + 1)));
      const p = encodeKeyPrefix(prefix);
      expect(encodeViewKey(from).startsWith(p)).toBe(true);
      for (const t of tuples) {
        expect(encodeViewKey(t).startsWith(p), `${show(t)} under ${show(prefix)}`).toBe(refHasPrefix(t, prefix));
      }
    }
  });

  it('matches string keys by their first characters, and no tuple', () => {
    const random = seededRandom(15);
    const strings = Array.from({ length: 300 }, () => randomString(random, 3)).filter((s) => s !== '');
    for (const prefix of ['a', '\u0000', '\u0001', '\u0002', 'ab', '\u{1f600}']) {
      const p = encodeKeyPrefix(prefix);
      for (const s of strings) expect(encodeViewKey(s).startsWith(p), `${show(s)} under ${show(prefix)}`).toBe(s.startsWith(prefix));
      expect(encodeViewKey([prefix]).startsWith(p)).toBe(false);
    }
    expect(encodeKeyPrefix('')).toBe('');
    expect(encodeViewKey(['x', 1]).startsWith(encodeKeyPrefix([]))).toBe(true);
    expect('x'.startsWith(encodeKeyPrefix([]))).toBe(false);
  });
});

describe('compareKeyElements', () => {
  it('agrees with the reference element order', () => {
    const random = seededRandom(16);
    for (let i = 0; i < 5000; i++) {
      const a = random() < 0.5 ? randomNumber(random) : randomString(random, 3);
      const b = random() < 0.5 ? randomNumber(random) : randomString(random, 3);
      expect(Math.sign(compareKeyElements(a, b)), `${show([a])} vs ${show([b])}`).toBe(refElement(a, b));
    }
  });
});

describe('parseKeyArgument and formatKeyArgument', () => {
  it('reads a KEY that starts with [ as a JSON tuple, anything else as the string', () => {
    expect(parseKeyArgument('page-7')).toBe('page-7');
    expect(parseKeyArgument('["page-7", 1700000000000]')).toEqual(['page-7', 1_700_000_000_000]);
    expect(parseKeyArgument('[-0]')).toEqual([0]);
    expect(parseKeyArgument(' [1]')).toBe(' [1]');
    expect(parseKeyArgument('\\[x')).toBe('[x');
    expect(parseKeyArgument('\\\\x')).toBe('\\x');
    expect(parseKeyArgument('\\x')).toBe('\\x');
  });

  it('round-trips random keys through format then parse', () => {
    const random = seededRandom(17);
    for (let i = 0; i < 5000; i++) {
      const k = randomKey(random);
      expect(parseKeyArgument(formatKeyArgument(k)), show(k)).toEqual(normalized(k));
    }
    for (const s of ['[', '[1]', '\\', '\\[', '\\\\', 'x[']) expect(parseKeyArgument(formatKeyArgument(s))).toBe(s);
  });

  it('refuses a tuple that is not a JSON array of strings and finite numbers', () => {
    expect(invalid(() => parseKeyArgument('[1, 2')).message).toContain("Expected a KEY that starts with '[' to be a JSON array of strings and numbers, got '[1, 2'");
    expect(invalid(() => parseKeyArgument('[1, {}]')).message).toContain('element 1 of a key tuple');
    expect(invalid(() => parseKeyArgument('[1e999]')).message).toContain('got Infinity');
    expect(invalid(() => parseKeyArgument('[]')).message).toContain('at least one element');
    expect(invalid(() => parseKeyArgument('[null]')).message).toContain('got null');
  });
});
