/**
 * CRC-32 arithmetic that lets one pass over a view file check every block's
 * checksum and compute the whole file's CRC-32 (what the manifest records):
 *
 * - The residue: a block followed by its CRC-32 in little-endian has the CRC
 *   `CRC32_RESIDUE` whatever the block holds, and only when the stored CRC
 *   matches. So one `crc32(block ++ trailer)` both checks the block and is the
 *   CRC of those bytes as the file holds them.
 * - The combination: `crc32Combine(crc(A), crc(B), |B|)` is `crc(A ++ B)`,
 *   as zlib's `crc32_combine` computes it (madler/zlib, crc32.c: `multmodp`
 *   and `x2nmodp`, polynomial arithmetic modulo the CRC polynomial). Node's
 *   zlib does not expose that function, so it is here, in a few lines.
 *
 * Every function is pure.
 */

/** The CRC-32 polynomial, reflected (zlib's POLY). */
const POLY = 0xedb88320;

/**
 * crc32(M ++ LE32(crc32(M))) for every M: the check value of CRC-32 with
 * its final XOR (the "residue" of CRC-32/ISO-HDLC).
 */
export const CRC32_RESIDUE = 0x2144df1c;

/** a(x) * b(x) modulo the polynomial; `a` must not be 0 (it never is here: powers of x). */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if ((a & m) !== 0) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = (b & 1) !== 0 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** X2N[k] = x^(2^k) modulo the polynomial, for k in 0..31 (zlib's x2n_table). */
const X2N: Uint32Array = (() => {
  const t = new Uint32Array(32);
  let p = 0x40000000; // x^1, reflected
  t[0] = p;
  for (let k = 1; k < 32; k++) t[k] = p = multModP(p, p);
  return t;
})();

/**
 * x^(8 * n) modulo the polynomial: the operator that shifts a CRC over `n`
 * zero bytes. Costs one multiplication per set bit of n.
 */
export function crc32ShiftOperator(n: number): number {
  let p = 0x80000000; // x^0
  let k = 3; // 8 * n = n * 2^3
  while (n > 0) {
    // n may exceed 2^32 (a file past 4 GiB): take its bits arithmetically.
    if (n % 2 === 1) p = multModP(X2N[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/**
 * The CRC-32 of A ++ B given crc(A), crc(B) and the byte length of B.
 * Called once per block by the view file writer and by verify().
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB === 0) return crcA >>> 0;
  return (multModP(crc32ShiftOperator(lengthB), crcA) ^ crcB) >>> 0;
}

/**
 * crc32Combine for many B of a few lengths: the shift operator of each
 * length is computed once (a view file's blocks take a few hundred
 * lengths at most, as a block closes before the entry that would pass its
 * target size). One per verify() pass; not shared.
 */
export class Crc32Combiner {
  private readonly operators = new Map<number, number>();

  combine(crcA: number, crcB: number, lengthB: number): number {
    if (lengthB === 0) return crcA >>> 0;
    let op = this.operators.get(lengthB);
    if (op === undefined) {
      op = crc32ShiftOperator(lengthB);
      this.operators.set(lengthB, op);
    }
    return (multModP(op, crcA) ^ crcB) >>> 0;
  }
}
