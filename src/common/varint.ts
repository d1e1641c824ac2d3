/**
 * Unsigned LEB128 varints (protobuf's and this project's framing), for
 * non-negative safe integers: one copy for every encoder that writes them
 * by hand (storage's record codec, the packed view entries, the Append
 * request encoder, a Scan chunk encoded around its entries). Pure.
 */

/** Bytes a varint of `n` takes. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes `n` as a varint at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}
