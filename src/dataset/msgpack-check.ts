/**
 * Checks that bytes hold exactly one msgpack value a reader can decode into
 * a JSON value, without decoding it: the store validates every record it is
 * given, and decoding 300,000 records a second would cost the master a core.
 *
 * Accepted: nil, booleans, integers, floats, strings, binary, arrays and maps
 * (any nesting up to MAX_DEPTH), and the two extensions msgpackr writes for
 * JSON-ish values: the timestamp (type -1, a Date) and msgpackr's undefined
 * (type 0, fixext 1, inside arrays or objects). Any other extension is
 * refused, since msgpackr's default decoder throws on it ("Unknown extension"),
 * and so is a map key that is an array, map, binary or timestamp (it decodes
 * maps into objects, whose keys must be scalars).
 *
 * Pure; called once per appended record.
 */

/** Deepest nesting of arrays and maps accepted: decoders recurse, and a deeper value could overflow a reader's stack. */
export const MAX_DEPTH = 512;

/**
 * Returns undefined when `buf[start, end)` is exactly one acceptable msgpack
 * value, else a short reason ("truncated", "trailing bytes", ...).
 *
 * Cost: the store calls this once per record (~300,000 a second), so it
 * allocates nothing: the stack of open containers lives in two typed arrays
 * of this module (the check is synchronous, so no two calls share them), and
 * the first byte is classified by a table, one load for the common kinds
 * (fixint, fixstr, fixmap, ...) instead of a chain of range tests.
 */
export function checkMsgpackValue(buf: Uint8Array, start: number, end: number): string | undefined {
  // An explicit stack of "values still expected" per open container: no recursion.
  const pending = PENDING;
  const inMap = IN_MAP;
  let top = 0;
  pending[0] = 1;
  inMap[0] = 0;
  let p = start;
  for (;;) {
    // Leaves (scalars, fixstr: most of a record) are taken in this inner
    // loop, with the count left in a local; a container or a rarer kind
    // leaves it with `b` set.
    let left = pending[top]!;
    const map = inMap[top] === 1;
    let b = -1;
    while (left > 0) {
      left--;
      if (p >= end) return 'truncated';
      const c = buf[p++]!;
      // A map's items alternate key, value: a key leaves an odd count.
      if (map && left % 2 === 1 && SCALAR_KEY[c] === 0) {
        return `a map key of type byte 0x${c.toString(16)} (an array, map, binary or timestamp)`;
      }
      const kind = KIND[c]!;
      if (kind === K_FIXED) {
        const q = p + FIXED_BYTES[c]!;
        if (q > end) return 'truncated';
        p = q;
        continue;
      }
      if (kind === K_FIXSTR) {
        const q = p + (c & 0x1f);
        if (q > end) return 'truncated';
        p = q;
        continue;
      }
      if (kind === K_STR8) {
        if (p + 1 > end) return 'truncated';
        const q = p + 1 + buf[p]!;
        if (q > end) return 'truncated';
        p = q;
        continue;
      }
      b = c;
      break;
    }
    pending[top] = left;
    if (b < 0) {
      // This container is complete.
      if (top === 0) break;
      top--;
      continue;
    }
    const kind = KIND[b]!;
    let skip = 0;
    let items = 0; // values a container adds (maps count keys and values)
    let isMap = 0;
    if (kind === K_FIXMAP) {
      items = (b & 0x0f) * 2;
      isMap = 1;
    } else if (kind === K_FIXARRAY) {
      items = b & 0x0f;
    } else {
      // Fixed-size scalars, fixstr, str 8 and bin 8 were taken by the inner loop.
      switch (b) {
        case 0xc5: case 0xda: // bin 16, str 16
          if (p + 2 > end) return 'truncated';
          skip = 2 + ((buf[p]! << 8) | buf[p + 1]!);
          break;
        case 0xc6: case 0xdb: // bin 32, str 32
          if (p + 4 > end) return 'truncated';
          skip = 4 + u32(buf, p);
          break;
        case 0xdc: // array 16
          if (p + 2 > end) return 'truncated';
          items = (buf[p]! << 8) | buf[p + 1]!;
          p += 2;
          break;
        case 0xdd: // array 32
          if (p + 4 > end) return 'truncated';
          items = u32(buf, p);
          p += 4;
          break;
        case 0xde: // map 16
          if (p + 2 > end) return 'truncated';
          items = ((buf[p]! << 8) | buf[p + 1]!) * 2;
          isMap = 1;
          p += 2;
          break;
        case 0xdf: // map 32
          if (p + 4 > end) return 'truncated';
          items = u32(buf, p) * 2;
          isMap = 1;
          p += 4;
          break;
        case 0xd4: // fixext 1: msgpackr's undefined is type 0
          if (p + 2 > end) return 'truncated';
          if (buf[p] !== 0) return `extension type ${signed8(buf[p]!)} is not a JSON value`;
          skip = 2;
          break;
        case 0xd6: case 0xd7: // fixext 4, 8: timestamps 32 and 64
          if (p + 1 > end) return 'truncated';
          if (buf[p] !== 0xff) return `extension type ${signed8(buf[p]!)} is not a JSON value`;
          skip = 1 + (b === 0xd6 ? 4 : 8);
          break;
        case 0xc7: // ext 8: timestamp 96 has 12 bytes
          if (p + 2 > end) return 'truncated';
          if (buf[p + 1] !== 0xff || buf[p] !== 12) return `extension type ${signed8(buf[p + 1]!)} of ${buf[p]!} bytes is not a JSON value`;
          skip = 2 + 12;
          break;
        case 0xd5: case 0xd8: case 0xc8: case 0xc9: {
          // fixext 2, fixext 16, ext 16, ext 32: no JSON value uses them
          const typeAt = b === 0xd5 || b === 0xd8 ? p : b === 0xc8 ? p + 2 : p + 4;
          if (typeAt >= end) return 'truncated';
          return `extension type ${signed8(buf[typeAt]!)} is not a JSON value`;
        }
        default: // 0xc1: never used
          return `byte 0x${b.toString(16)} is not msgpack`;
      }
    }
    if (skip > 0) {
      if (p + skip > end) return 'truncated';
      p += skip;
    }
    if (items > 0) {
      if (top + 1 >= MAX_DEPTH) return `nested deeper than ${MAX_DEPTH} levels`;
      // Each item takes at least one byte: refuse impossible counts early.
      if (items > end - p) return 'truncated';
      // PENDING is int32 (see there): only a value of over 2 GiB could count more.
      if (items > INT32_MAX) return `a container of ${items} items (at most ${INT32_MAX})`;
      top++;
      pending[top] = items;
      inMap[top] = isMap;
    }
  }
  if (p !== end) return `${end - p} trailing bytes after the value`;
  return undefined;
}

/**
 * Values still expected per open container (a map counts keys and values).
 * Int32: a count is at most the bytes left (each item takes one at least)
 * and refused past INT32_MAX. It was a Float64Array (a map 32 counts up to
 * 2^33): every count read and written as a double made the walk 2 to 3 times
 * slower (160-280 ns a YSB record against 65-78, scratch A/B on this machine).
 */
const PENDING = new Int32Array(MAX_DEPTH);
const INT32_MAX = 0x7fffffff;
/** 1 where the open container is a map. */
const IN_MAP = new Uint8Array(MAX_DEPTH);

/** Kinds of first byte the walk tells apart by table. */
const K_FIXED = 0; // a scalar of fixed size: fixints, nil, booleans, floats, ints (FIXED_BYTES after it)
const K_FIXSTR = 1;
const K_STR8 = 2; // str 8, bin 8: a one-byte length
const K_FIXMAP = 3;
const K_FIXARRAY = 4;
const K_OTHER = 5; // the rest: decided by a switch on the byte
const KIND: Uint8Array = Uint8Array.from({ length: 256 }, (_, b) =>
  b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3 || (b >= 0xca && b <= 0xd3) ? K_FIXED
  : b >= 0xa0 && b <= 0xbf ? K_FIXSTR
  : b === 0xd9 || b === 0xc4 ? K_STR8
  : b >= 0x80 && b <= 0x8f ? K_FIXMAP
  : b >= 0x90 && b <= 0x9f ? K_FIXARRAY
  : K_OTHER);
/** Bytes after the first of a K_FIXED value: float 32/64, uint and int 8 to 64, else none. */
const FIXED_BYTES: Uint8Array = Uint8Array.from({ length: 256 }, (_, b) =>
  b === 0xca ? 4 : b === 0xcb ? 8 : b === 0xcc || b === 0xd0 ? 1 : b === 0xcd || b === 0xd1 ? 2
  : b === 0xce || b === 0xd2 ? 4 : b === 0xcf || b === 0xd3 ? 8 : 0);

/** 1 for the first bytes of the values msgpackr accepts as an object key: nil, booleans, numbers, strings, undefined (fixext 1). */
const SCALAR_KEY: Uint8Array = Uint8Array.from({ length: 256 }, (_, b) =>
  b <= 0x7f || b >= 0xe0 || (b >= 0xa0 && b <= 0xbf) || b === 0xc0 || b === 0xc2 || b === 0xc3 ||
  (b >= 0xca && b <= 0xd3) || (b >= 0xd9 && b <= 0xdb) || b === 0xd4 ? 1 : 0);

function u32(buf: Uint8Array, p: number): number {
  return ((buf[p]! << 24) >>> 0) + ((buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!);
}

function signed8(b: number): number {
  return b > 127 ? b - 256 : b;
}
