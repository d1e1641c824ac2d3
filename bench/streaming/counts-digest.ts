/** A digest of counts by key (`key=count` lines in key order, SHA-256): two programs agree on every count when their digests are equal. */
import { createHash } from 'node:crypto';

export function countsDigest(counts: ReadonlyMap<string, number>): string {
  const keys = [...counts.keys()].sort();
  const h = createHash('sha256');
  for (const k of keys) h.update(`${k}=${counts.get(k)}\n`);
  return h.digest('hex');
}
