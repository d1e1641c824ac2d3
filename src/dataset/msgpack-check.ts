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
 */
export function checkMsgpackValue(buf: Uint8Array, start: number, end: number): string | undefined {
  // An explicit stack of "values still expected" per open container: no recursion.
  const pending: number[] = [1];
  const inMap: boolean[] = [false];
  let p = start;
  while (pending.length > 0) {
    const top = pending.length - 1;
    if (pending[top] === 0) {
      pending.pop();
      inMap.pop();
      continue;
    }
    // A map's items alternate key, value, starting with a key at an even count left.
    const isKey = inMap[top]! && pending[top]! % 2 === 0;
    pending[top]!--;
    if (p >= end) return 'truncated';
    const b = buf[p++]!;
    if (isKey && !SCALAR_KEY[b]!) return `a map key of type byte 0x${b.toString(16)} (an array, map, binary or timestamp)`;
    let skip = 0;
    let items = -1; // values a container adds (maps count keys and values)
    let map = false;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) {
      // positive/negative fixint, nil, false, true
    } else if (b >= 0x80 && b <= 0x8f) {
      items = (b & 0x0f) * 2;
      map = true;
    } else if (b >= 0x90 && b <= 0x9f) {
      items = b & 0x0f;
    } else if (b >= 0xa0 && b <= 0xbf) {
      skip = b & 0x1f;
    } else {
      switch (b) {
        case 0xc4: case 0xd9: // bin 8, str 8
          if (p + 1 > end) return 'truncated';
          skip = 1 + buf[p]!;
          break;
        case 0xc5: case 0xda: // bin 16, str 16
          if (p + 2 > end) return 'truncated';
          skip = 2 + ((buf[p]! << 8) | buf[p + 1]!);
          break;
        case 0xc6: case 0xdb: // bin 32, str 32
          if (p + 4 > end) return 'truncated';
          skip = 4 + u32(buf, p);
          break;
        case 0xca: skip = 4; break; // float 32
        case 0xcb: skip = 8; break; // float 64
        case 0xcc: case 0xd0: skip = 1; break; // uint 8, int 8
        case 0xcd: case 0xd1: skip = 2; break;
        case 0xce: case 0xd2: skip = 4; break;
        case 0xcf: case 0xd3: skip = 8; break;
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
          map = true;
          p += 2;
          break;
        case 0xdf: // map 32
          if (p + 4 > end) return 'truncated';
          items = u32(buf, p) * 2;
          map = true;
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
      if (pending.length >= MAX_DEPTH) return `nested deeper than ${MAX_DEPTH} levels`;
      // Each item takes at least one byte: refuse impossible counts early.
      if (items > end - p) return 'truncated';
      pending.push(items);
      inMap.push(map);
    }
  }
  if (p !== end) return `${end - p} trailing bytes after the value`;
  return undefined;
}

/** First bytes of the values msgpackr accepts as an object key: nil, booleans, numbers, strings, undefined (fixext 1). */
const SCALAR_KEY: boolean[] = Array.from({ length: 256 }, (_, b) =>
  b <= 0x7f || b >= 0xe0 || (b >= 0xa0 && b <= 0xbf) || b === 0xc0 || b === 0xc2 || b === 0xc3 ||
  (b >= 0xca && b <= 0xd3) || (b >= 0xd9 && b <= 0xdb) || b === 0xd4);

function u32(buf: Uint8Array, p: number): number {
  return ((buf[p]! << 24) >>> 0) + ((buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!);
}

function signed8(b: number): number {
  return b > 127 ? b - 256 : b;
}
