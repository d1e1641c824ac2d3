import { describe, expect, it } from 'vitest';
import { pack } from 'msgpackr';
import { writeJsonMsgpack } from '../../../src/storage/json-msgpack-writer.js';
import { seededRandom } from '../../support/seeded-random.js';

/** msgpackr's bytes for a value: what the writer must reproduce (record-body.ts packs with the same default Packr). */
function msgpackr(value: unknown): Buffer {
  return Buffer.from(pack(value));
}

const scratch = Buffer.alloc(1024 * 1024);

/** The writer's bytes for a value written at `at` in a roomy buffer, or undefined if it declines. */
function written(value: unknown, at = 7): Buffer | undefined {
  const buf = scratch;
  const end = writeJsonMsgpack(value, buf, at, buf.length);
  return end < 0 ? undefined : buf.subarray(at, end);
}

/** Where two byte strings first differ, or 'same' (vitest's toEqual walks a Buffer element by element: too slow for 64 KiB ones). */
function firstDifference(got: Buffer | undefined, expected: Buffer): string {
  if (got === undefined) return 'declined';
  if (got.equals(expected)) return 'same';
  let i = 0;
  while (i < got.length && got[i] === expected[i]) i++;
  return `lengths ${got.length}/${expected.length}, first difference at ${i}: ${got.subarray(i, i + 8).toString('hex')} against ${expected.subarray(i, i + 8).toString('hex')}`;
}

const EDGE_NUMBERS = [
  0, -0, 1, 31, 32, 63, 64, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -(2 ** 53),
  -1, -31, -32, -33, -127, -128, -129, -32767, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1,
  0.5, -1.25, 1e-300, 1.7e12, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity,
];

const EDGE_STRINGS = [
  '', 'a', 'x'.repeat(15), 'x'.repeat(16), 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(63), 'x'.repeat(64), 'x'.repeat(255), 'x'.repeat(256),
  'y'.repeat(65535), 'y'.repeat(65536), 'é', 'é'.repeat(16), 'é'.repeat(127), 'é'.repeat(128), '日本語のテキスト'.repeat(3), '😀', 'a😀'.repeat(20),
  // Lone surrogates: U+FFFD on both paths, in short and long strings.
  '\ud800', 'x\udc00y', `${'z'.repeat(20)}\ud83d`, `\udfff${'w'.repeat(40)}`,
  // ASCII for 31 units but 32 bytes and more in UTF-8: the header changes size.
  `${'a'.repeat(30)}é`, `${'a'.repeat(254)}é`,
];

/** A random JSON value of the shapes records take. */
function randomValue(random: () => number, depth: number): unknown {
  const r = random();
  if (depth > 2 || r < 0.45) {
    const k = Math.floor(random() * 6);
    if (k === 0) return EDGE_NUMBERS[Math.floor(random() * EDGE_NUMBERS.length)];
    if (k === 1) return EDGE_STRINGS[Math.floor(random() * EDGE_STRINGS.length)]!.slice(0, 300);
    if (k === 2) return Math.floor((random() - 0.5) * 2 ** (random() * 40));
    if (k === 3) return random() < 0.5;
    if (k === 4) return null;
    return Array.from({ length: Math.floor(random() * 40) }, () => String.fromCharCode(32 + Math.floor(random() * 200))).join('');
  }
  if (r < 0.7) return Array.from({ length: Math.floor(random() * 10) }, () => randomValue(random, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(random() * 10); i > 0; i--) o[`k${Math.floor(random() * 30)}${'é'.repeat(Math.floor(random() * 2))}`] = randomValue(random, depth + 1);
  return o;
}

describe('writeJsonMsgpack', () => {
  it('writes exactly msgpackr\'s bytes for numbers, strings and containers at their size boundaries', () => {
    const values: unknown[] = [
      ...EDGE_NUMBERS, ...EDGE_STRINGS, true, false, null,
      [], Array.from({ length: 15 }, (_, i) => i), Array.from({ length: 16 }, (_, i) => i), Array.from({ length: 65536 }, (_, i) => i & 7), ['x'.repeat(300000)],
      {}, Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, i])), Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])),
      { user_id: '2f1c6f7e-3a0b-4c55-9d8e-1f2a3b4c5d6e', event_time: 1_700_000_000_123, ip: '10.0.0.1', nested: { a: [1, -2, 3.5, 'x'] } },
    ];
    for (const v of values) expect(firstDifference(written(v), msgpackr(v)), JSON.stringify(v)?.slice(0, 80)).toBe('same');
  });

  it('writes exactly the keys msgpackr keeps: own enumerable ones in their order (integer-like first), not inherited or hidden ones', () => {
    const inherited = Object.create({ fromPrototype: 1 }) as Record<string, unknown>;
    inherited.own = 2;
    const hidden: Record<string, unknown> = { shown: 1 };
    Object.defineProperty(hidden, 'hidden', { value: 2, enumerable: false });
    const ordered: Record<string, unknown> = { b: 1, 10: 'ten', a: 2, 2: 'two' };
    const values = [inherited, hidden, ordered, { ...ordered, nested: inherited }];
    for (const v of values) expect(firstDifference(written(v), msgpackr(v)), JSON.stringify(v)).toBe('same');
    expect(written(inherited)!.includes(Buffer.from('fromPrototype'))).toBe(false);
  });

  it('writes exactly msgpackr\'s bytes for 2,000 random JSON values', () => {
    const random = seededRandom(42);
    for (let i = 0; i < 2000; i++) {
      const v = randomValue(random, 0);
      expect(firstDifference(written(v, i % 11), msgpackr(v)), `value ${i}: ${JSON.stringify(v).slice(0, 80)}`).toBe('same');
    }
  });

  it('declines what it leaves to msgpackr: undefined, bigint, functions, Dates, Maps, class instances, null-prototype objects, deep nesting', () => {
    class Point { constructor(readonly x: number) {} }
    let deep: unknown = 1;
    for (let i = 0; i < 70; i++) deep = [deep];
    const declined: unknown[] = [
      undefined, 10n, () => 1, Symbol('s'), new Date(0), new Map([[1, 2]]), new Set([1]), new Point(1), Object.create(null), Buffer.from('ab'),
      { a: undefined }, [1, undefined], { hasOwnProperty: () => true, a: 1 }, deep, [1, [2, { d: new Date(0) }]],
    ];
    for (const v of declined) expect(written(v)).toBeUndefined();
  });

  it('declines a value that does not fit before `end`, for every shortfall, and fits exactly at its size', () => {
    const values = [{ s: 'x'.repeat(40), n: [1, 300, 70000, 1.5, -5, -200] }, 'é'.repeat(50), 'a'.repeat(300), [true, null, 'abc']];
    for (const v of values) {
      const expected = msgpackr(v);
      const buf = Buffer.alloc(expected.length + 20);
      for (let room = 0; room < expected.length; room++) expect(writeJsonMsgpack(v, buf, 3, 3 + room), `room ${room}`).toBe(-1);
      // With exactly enough room: the long-string path asks for its worst case first, then counts exactly.
      expect(writeJsonMsgpack(v, buf, 3, 3 + expected.length)).toBe(3 + expected.length);
      expect(firstDifference(buf.subarray(3, 3 + expected.length), expected)).toBe('same');
    }
  });
});
