/**
 * 32-bit FNV-1a over UTF-16 code units, written out plainly with BigInt
 * arithmetic from the algorithm's definition (offset basis 0x811c9dc5, prime
 * 0x01000193): the independent reference that partitioning tests check the
 * engine's Math.imul version against.
 */
export function fnv1a(key: string): number {
  let h = 0x811c9dc5n;
  for (let i = 0; i < key.length; i++) {
    h ^= BigInt(key.charCodeAt(i));
    h = (h * 0x01000193n) % 2n ** 32n;
  }
  return Number(h);
}
