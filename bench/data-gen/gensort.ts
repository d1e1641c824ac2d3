/**
 * The sort benchmark's input, exactly as `gensort -a` writes it (gensort 1.5,
 * Chris Nyberg): 100-byte ASCII records from the 128-bit linear congruential
 * generator of rand16.c, X(n+1) = a X(n) + c mod 2^128 with X(0) = 0, record i
 * taking X(i+1):
 *   bytes 0-9    key: the high 64 bits written in base 95 from ' ' (8 digits,
 *                least significant first), then 2 digits of the low 64 bits
 *   bytes 10-11  two spaces
 *   bytes 12-43  the record number, 32 upper-case hex digits
 *   bytes 44-45  two spaces
 *   bytes 46-97  13 hex digits of the low 52 bits of X, each repeated 4 times
 *   bytes 98-99  CR LF
 * The check valsort offers: the sum of the records' CRC-32s (crc32 of zlib).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';

export const RECORD_BYTES = 100;
export const KEY_BYTES = 10;

// rand16.c's a = 0x2360ed051fc65da44385df649fccf645, c = 0x4a696d47726179524950202020202001,
// as 16-bit limbs, least significant first.
function limbs(hex: string): number[] {
  const out: number[] = [];
  for (let i = hex.length; i > 0; i -= 4) out.push(parseInt(hex.slice(Math.max(0, i - 4), i), 16));
  return out;
}
const A = limbs('2360ed051fc65da44385df649fccf645');
const C = limbs('4a696d47726179524950202020202001');

const HEX = Buffer.from('0123456789ABCDEF', 'latin1');

/** Generates gensort -a records in order, from record 0. */
export class GensortGenerator {
  /** X(n) as 8 limbs of 16 bits, least significant first. */
  private readonly x = new Array<number>(8).fill(0);
  private readonly t = new Array<number>(8).fill(0);
  private readonly q = new Array<number>(4).fill(0);
  private recordNumber = 0;

  /** Advances the generator: X = a X + c mod 2^128. */
  private step(): void {
    const x = this.x;
    const r = this.t;
    for (let k = 0; k < 8; k++) r[k] = C[k]!;
    for (let i = 0; i < 8; i++) {
      const xi = x[i]!;
      if (xi === 0) continue;
      for (let j = 0; j < 8 - i; j++) r[i + j]! += xi * A[j]!;
    }
    let carry = 0;
    for (let k = 0; k < 8; k++) {
      const v = r[k]! + carry;
      x[k] = v % 65536;
      carry = Math.floor(v / 65536);
    }
  }

  /** Writes the next record into buf at offset. */
  next(buf: Buffer, offset: number): void {
    this.step();
    const x = this.x;
    // Key: the high 64 bits (limbs 7..4) in base 95, then two digits of the low 64 bits.
    const q = this.q;
    q[0] = x[7]!; q[1] = x[6]!; q[2] = x[5]!; q[3] = x[4]!;
    for (let d = 0; d < 8; d++) buf[offset + d] = 32 + this.divide95(q);
    q[0] = x[3]!; q[1] = x[2]!; q[2] = x[1]!; q[3] = x[0]!;
    buf[offset + 8] = 32 + this.divide95(q);
    buf[offset + 9] = 32 + this.divide95(q);
    buf[offset + 10] = 32;
    buf[offset + 11] = 32;
    // Record number: 32 hex digits (Number is exact far beyond any record count here).
    let n = this.recordNumber++;
    for (let i = 43; i >= 12; i--) {
      buf[offset + i] = HEX[n % 16]!;
      n = Math.floor(n / 16);
    }
    buf[offset + 44] = 32;
    buf[offset + 45] = 32;
    // Filler: nibble at bit 48 - 4k of the low 64 bits, k = 0..12, four times each.
    for (let k = 0; k < 13; k++) {
      const shift = 48 - 4 * k;
      const h = HEX[(x[shift >> 4]! >> (shift & 15)) & 15]!;
      const p = offset + 46 + 4 * k;
      buf[p] = h; buf[p + 1] = h; buf[p + 2] = h; buf[p + 3] = h;
    }
    buf[offset + 98] = 13;
    buf[offset + 99] = 10;
  }

  /** Divides the 64-bit number in q (4 limbs, most significant first) by 95 in place; returns the remainder. */
  private divide95(q: number[]): number {
    let rem = 0;
    for (let i = 0; i < 4; i++) {
      const cur = rem * 65536 + q[i]!;
      q[i] = Math.floor(cur / 95);
      rem = cur % 95;
    }
    return rem;
  }
}

/** Sums CRC-32s of 100-byte records as valsort does (a 128-bit sum; BigInt here). */
export class CrcSum {
  private small = 0;
  private count = 0;
  private big = 0n;

  add(crc: number): void {
    this.small += crc;
    // Keep the Number part exact: 2^20 CRCs of < 2^32 stay below 2^53.
    if (++this.count === 1 << 20) this.settle();
  }

  addRecord(buf: Buffer, offset: number): void {
    this.add(crc32(buf.subarray(offset, offset + RECORD_BYTES)));
  }

  private settle(): void {
    this.big += BigInt(this.small);
    this.small = 0;
    this.count = 0;
  }

  /** The sum in lower-case hex, as valsort prints it. */
  hex(): string {
    this.settle();
    return this.big.toString(16);
  }
}

/** Writes `records` records to path; returns their CRC-32 sum (hex). */
export function writeGensort(path: string, records: number): string {
  const gen = new GensortGenerator();
  const sum = new CrcSum();
  const batch = 100_000;
  const buf = Buffer.alloc(batch * RECORD_BYTES);
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < records;) {
      const n = Math.min(batch, records - done);
      for (let i = 0; i < n; i++) {
        gen.next(buf, i * RECORD_BYTES);
        sum.addRecord(buf, i * RECORD_BYTES);
      }
      writeSync(fd, buf, 0, n * RECORD_BYTES);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return sum.hex();
}

/** The CRC-32 sum of the first `records` records, generated in memory. */
export function gensortChecksum(records: number): string {
  const gen = new GensortGenerator();
  const sum = new CrcSum();
  const buf = Buffer.alloc(RECORD_BYTES);
  for (let i = 0; i < records; i++) {
    gen.next(buf, 0);
    sum.addRecord(buf, 0);
  }
  return sum.hex();
}

/** valsort's figure for the first 163,840 records of gensort -a. */
export const VALSORT_CHECK = { records: 163_840, sum: '1400fed7bb2c2' } as const;
