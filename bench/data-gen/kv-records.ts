/**
 * Records for the serving benchmark: `keys` distinct keys, each appearing
 * `perKey` times in a scattered order, each record `{ key, value }` with a
 * value of about 100 characters; the view keeps the largest value per key
 * (merge: max), so the view has `keys` keys of ~100-byte values. Seeded and
 * generated on the fly.
 */
import { Prng } from './prng.js';

export interface KvRecord {
  readonly key: string;
  readonly value: string;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** The key of key index k: fixed width, so the key order is the index order. */
export function kvKey(k: number): string {
  return `key-${String(k).padStart(9, '0')}`;
}

export function* kvRecords(seed: number, keys: number, perKey: number): Generator<KvRecord> {
  const prng = new Prng(seed);
  const total = keys * perKey;
  // A multiplicative walk over [0, total) visits every record index once, scattering the keys.
  const step = 2_654_435_761 % total || 1;
  let coprime = step;
  while (gcd(coprime, total) !== 1) coprime++;
  for (let i = 0, j = 0; i < total; i++, j = (j + coprime) % total) {
    let value = '';
    for (let c = 0; c < 100; c++) value += ALPHABET[prng.u32() % ALPHABET.length];
    yield { key: kvKey(j % keys), value };
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
