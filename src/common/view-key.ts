/**
 * View keys: what a view's map emits (a string, or a tuple of strings and
 * numbers) and the one engine key string each becomes, such that the engine's
 * key order (UTF-8 byte order, which is code point order: see
 * src/storage/key-order.ts) is the order of the keys themselves.
 *
 * It lives in common/ rather than storage/ because every layer needs it and
 * not all may import storage: api/ (a view's map output), serving/ and speed/
 * (keys of queries), client/ and cli/ (keys typed by users).
 *
 * The order of keys, as the encoding makes it:
 * - The empty string first, then every tuple, then every other string.
 * - Strings among themselves: by UTF-8 bytes (code points).
 * - Tuples element by element; an element that is a number comes before one
 *   that is a string; numbers by numeric value (-0 is 0: the same key);
 *   strings by UTF-8 bytes; a tuple before every longer tuple it is a prefix of.
 *
 * The encoding (each character below is one code point; structural ones are
 * below U+0100, so a byte b of the layout is the character with code b):
 * - A string is itself, unless it starts with U+0000 or U+0001, which are
 *   reserved: then it is U+0001 followed by the string. So keys stay readable
 *   in files and logs, and escaped strings keep their order (they sort
 *   between tuples and the strings that start at U+0002).
 * - A tuple is U+0000, then each element:
 *   - a number: U+0001, then its IEEE-754 double as 64 bits made
 *     order-preserving (a positive number's sign bit set, a negative number's
 *     bits all flipped, as FoundationDB's tuple layer does), written as 10
 *     characters of 7 bits each (U+0000..U+007F, so one UTF-8 byte each);
 *   - a string: U+0002, its characters with U+0000 written as U+0001 U+0001
 *     and U+0001 as U+0001 U+0002, then a terminating U+0000. The escapes
 *     keep the order of characters (U+0000 < U+0001 < U+0002), and the
 *     terminator sorts below every character, so "a" comes before "a\0" and
 *     "ab". Since no U+0000 is left inside, a string's encoding ends at its
 *     first U+0000: ["a"] is a byte prefix of ["a", 5] and of nothing else.
 *   No end marker: a tuple's encoding is a prefix of its extensions'
 *   encodings, which makes prefix scans a byte-prefix match.
 *
 * Refused, with INVALID_ARGUMENT: NaN and ±Infinity (no order that means
 * something to a user, and JSON cannot carry them back to one), the empty
 * tuple, nested arrays and any other type, and strings with a lone surrogate
 * (UTF-8 cannot carry one: it would come back as U+FFFD).
 *
 * Every function here is pure; calling twice is safe.
 */
import { describe, LaminateError } from './errors.js';

/** One element of a key tuple. */
export type KeyElement = string | number;

/** A key as a view's map emits it, and as queries name it. */
export type ViewKey = string | readonly KeyElement[];

const TUPLE = '\u0000';
const ESCAPE = '\u0001';
const NUMBER_TAG = '\u0001';
const STRING_TAG = '\u0002';
const STRING_END = '\u0000';
const STRING_ESCAPE = '\u0001';
const NUMBER_CHARS = 10;

const LONE_SURROGATE = /\p{Surrogate}/u;
const NEEDS_ESCAPE = /[\u0000\u0001]/;
const NEEDS_ESCAPE_GLOBAL = /[\u0000\u0001]/g;
const escapeChar = (c: string): string => (c === '\u0000' ? '\u0001\u0001' : '\u0001\u0002');

const scratch = new DataView(new ArrayBuffer(8));

/**
 * The engine key of a view key. Called once per emitted key (the hot path
 * of a view's map), and by queries. Throws INVALID_ARGUMENT for what the
 * module comment lists as refused.
 */
export function encodeViewKey(key: ViewKey): string {
  if (typeof key === 'string') return encodeString(key);
  if (!Array.isArray(key)) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a view key to be a string or an array of strings and finite numbers, got ${describeValue(key)}`);
  }
  if (key.length === 0) {
    throw new LaminateError('INVALID_ARGUMENT', 'Expected a key tuple with at least one element, got []');
  }
  return encodeTuple(key);
}

/**
 * The engine-key prefix shared by every key that starts with `prefix`: for a
 * tuple, every tuple whose first elements equal it (the empty tuple: every
 * tuple); for a string, every string key that starts with those characters
 * (the empty string: every key). What a `--prefix` scan matches by
 * `encoded.startsWith(prefix)`.
 */
export function encodeKeyPrefix(prefix: ViewKey): string {
  if (Array.isArray(prefix) && prefix.length === 0) return TUPLE;
  return encodeViewKey(prefix);
}

/**
 * The view key of an engine key: a string, or a new array for a tuple.
 * Throws INVALID_ARGUMENT when `encoded` is not an encoding this module
 * makes (a damaged or foreign key), naming the first thing wrong.
 */
export function decodeViewKey(encoded: string): string | KeyElement[] {
  if (encoded.length === 0) return encoded;
  const first = encoded[0];
  if (first === ESCAPE) {
    const rest = encoded.slice(1);
    if (rest.length === 0 || (rest[0] !== TUPLE && rest[0] !== ESCAPE)) {
      throw badEncoding(encoded, 'U+0001 escapes only a string that starts with U+0000 or U+0001');
    }
    checkWellFormed(rest, encoded);
    return rest;
  }
  if (first !== TUPLE) {
    checkWellFormed(encoded, encoded);
    return encoded;
  }
  const out: KeyElement[] = [];
  let p = 1;
  while (p < encoded.length) {
    const tag = encoded[p];
    if (tag === NUMBER_TAG) {
      out.push(decodeNumber(encoded, p + 1));
      p += 1 + NUMBER_CHARS;
    } else if (tag === STRING_TAG) {
      const [s, next] = decodeTupleString(encoded, p + 1);
      out.push(s);
      p = next;
    } else {
      throw badEncoding(encoded, `an element tag U+0001 or U+0002 at ${p}, got U+${hex4(encoded.charCodeAt(p))}`);
    }
  }
  if (out.length === 0) throw badEncoding(encoded, 'a tuple with at least one element');
  return out;
}

/**
 * The order of tuple elements (numbers before strings, numbers by value,
 * strings by UTF-8 bytes): the order encoded keys sort in, and the one the
 * built-in monoids use for their elements, so sets and ties read in key order.
 */
export function compareKeyElements(a: KeyElement, b: KeyElement): number {
  if (typeof a === 'number') {
    if (typeof b !== 'number') return -1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof b === 'number') return 1;
  return compareCodePoints(a, b);
}

/**
 * Reads a KEY as typed on the command line: one that starts with `[` is a
 * JSON tuple; otherwise it is the string itself, except that a leading
 * backslash before `[` or `\` is dropped (so `\[x` is the string "[x", and
 * `\\x` the string "\x"). Throws INVALID_ARGUMENT for a tuple that is not a
 * JSON array of strings and finite numbers.
 */
export function parseKeyArgument(text: string): ViewKey {
  if (text.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected a KEY that starts with '[' to be a JSON array of strings and numbers, got '${text}' (${(err as Error).message}); write \\[ for a string key that starts with '['`);
    }
    if (!Array.isArray(parsed)) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected a KEY that starts with '[' to be a JSON array of strings and numbers, got '${text}'`);
    }
    encodeViewKey(parsed as KeyElement[]); // validates, with the element at fault named
    return parsed.map((e: KeyElement) => (e === 0 ? 0 : e));
  }
  if (text.startsWith('\\[') || text.startsWith('\\\\')) return text.slice(1);
  return text;
}

/** How to type `key` as a KEY argument: the inverse of parseKeyArgument. */
export function formatKeyArgument(key: ViewKey): string {
  if (typeof key !== 'string') return JSON.stringify(key);
  return key.startsWith('[') || key.startsWith('\\') ? `\\${key}` : key;
}

function encodeString(s: string): string {
  checkWellFormed(s, undefined);
  const c = s.charCodeAt(0); // NaN for '': no escape
  return c <= 1 ? ESCAPE + s : s;
}

function encodeTuple(key: readonly unknown[]): string {
  let out = TUPLE;
  for (let i = 0; i < key.length; i++) {
    const e = key[i];
    if (typeof e === 'string') {
      checkWellFormed(e, undefined);
      out += STRING_TAG + (NEEDS_ESCAPE.test(e) ? e.replace(NEEDS_ESCAPE_GLOBAL, escapeChar) : e) + STRING_END;
    } else if (typeof e === 'number' && Number.isFinite(e)) {
      out += NUMBER_TAG + encodeNumber(e);
    } else {
      throw new LaminateError('INVALID_ARGUMENT', `Expected element ${i} of a key tuple to be a string or a finite number, got ${describeValue(e)}`);
    }
  }
  return out;
}

/** 64 order-preserving bits of a finite double, as 10 characters of 7 bits (the first holds one). */
function encodeNumber(x: number): string {
  scratch.setFloat64(0, x === 0 ? 0 : x); // -0 is 0: one key
  let hi = scratch.getUint32(0);
  let lo = scratch.getUint32(4);
  if (hi & 0x80000000) {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
  } else {
    hi = (hi | 0x80000000) >>> 0;
  }
  return String.fromCharCode(
    hi >>> 31,
    (hi >>> 24) & 0x7f,
    (hi >>> 17) & 0x7f,
    (hi >>> 10) & 0x7f,
    (hi >>> 3) & 0x7f,
    ((hi & 0x7) << 4) | (lo >>> 28),
    (lo >>> 21) & 0x7f,
    (lo >>> 14) & 0x7f,
    (lo >>> 7) & 0x7f,
    lo & 0x7f,
  );
}

function decodeNumber(encoded: string, p: number): number {
  if (p + NUMBER_CHARS > encoded.length) throw badEncoding(encoded, `${NUMBER_CHARS} characters of a number at ${p}`);
  const c = (i: number): number => {
    const v = encoded.charCodeAt(p + i);
    if (v > 0x7f || (i === 0 && v > 1)) throw badEncoding(encoded, `a 7-bit number character at ${p + i}`);
    return v;
  };
  const c5 = c(5);
  let hi = ((c(0) << 31) | (c(1) << 24) | (c(2) << 17) | (c(3) << 10) | (c(4) << 3) | (c5 >>> 4)) >>> 0;
  let lo = (((c5 & 0xf) << 28) | (c(6) << 21) | (c(7) << 14) | (c(8) << 7) | c(9)) >>> 0;
  if (hi & 0x80000000) {
    hi = (hi & 0x7fffffff) >>> 0;
  } else {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
  }
  scratch.setUint32(0, hi);
  scratch.setUint32(4, lo);
  const x = scratch.getFloat64(0);
  if (!Number.isFinite(x) || Object.is(x, -0)) throw badEncoding(encoded, `a finite number at ${p}, got ${x}`);
  return x;
}

/** The string element whose characters start at p, and where the next element starts. */
function decodeTupleString(encoded: string, p: number): [string, number] {
  const end = encoded.indexOf(STRING_END, p);
  if (end < 0) throw badEncoding(encoded, `a string element that starts at ${p} to end with U+0000`);
  let out = encoded.slice(p, end);
  if (out.includes(STRING_ESCAPE)) {
    let unescaped = '';
    for (let i = 0; i < out.length; i++) {
      const c = out[i]!;
      if (c !== STRING_ESCAPE) {
        unescaped += c;
        continue;
      }
      const next = out[++i];
      if (next !== '\u0001' && next !== '\u0002') throw badEncoding(encoded, `U+0001 U+0001 or U+0001 U+0002 at ${p + i - 1}`);
      unescaped += next === '\u0001' ? '\u0000' : '\u0001';
    }
    out = unescaped;
  }
  checkWellFormed(out, encoded);
  return [out, end + 1];
}

function checkWellFormed(s: string, encoded: string | undefined): void {
  if (!LONE_SURROGATE.test(s)) return;
  const i = s.search(LONE_SURROGATE);
  const what = `well-formed Unicode text, got a lone surrogate U+${hex4(s.charCodeAt(i))} at index ${i}`;
  if (encoded !== undefined) throw badEncoding(encoded, what);
  throw new LaminateError('INVALID_ARGUMENT', `Expected a view key of ${what} (UTF-8 cannot carry it)`);
}

/** Code point order of two strings (UTF-16 order, but surrogates after U+E000..U+FFFF). */
function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) return (x < 0xe000 ? x + 0x10000 : x) - (y < 0xe000 ? y + 0x10000 : y);
      return x - y;
    }
  }
  return a.length - b.length;
}

function badEncoding(encoded: string, what: string): LaminateError {
  return new LaminateError('INVALID_ARGUMENT', `Expected an encoded view key (${what}), got ${JSON.stringify(encoded.length > 80 ? `${encoded.slice(0, 80)}...` : encoded)}`);
}

function hex4(c: number): string {
  return c.toString(16).toUpperCase().padStart(4, '0');
}

function describeValue(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `an array (${JSON.stringify(v).slice(0, 60)})`;
  return describe(v);
}
