/**
 * A hash table from string keys to dense slot numbers (0, 1, 2... in order
 * of first insertion): the index of the map-side combining buffer, looked up
 * once for every record a map emits.
 *
 * Open addressing with linear probing over one Int32Array of (hash, slot)
 * pairs, at most half full. A lookup reads one pair and, when the hashes
 * match, compares the key; V8's Map chains its entries and reads each
 * candidate key's string on the way, which costs about half as much again
 * for the short, fresh strings a tokenizer makes (measured on word count).
 */

import { LaminateError } from '../common/errors.js';

const INITIAL_CAPACITY = 1024;

/** FNV-1a over the UTF-16 code units, then murmur3's final mix so the low bits (the bucket) depend on every unit. */
export function keyHash(key: string): number {
  let h = 0x811c9dc5 | 0;
  const n = key.length;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Keys to slots. Use: `lookup(key)`; when it returns -1, `insertMissed(key)`
 * (before any other call) gives the key the next slot. Not for concurrent use.
 */
export class KeyTable {
  /** The keys by slot. */
  readonly keys: string[] = [];
  // Bucket i is entries[2i] (the key's hash) and entries[2i + 1] (its slot + 1; 0 = empty).
  private entries = new Int32Array(2 * INITIAL_CAPACITY);
  private mask = INITIAL_CAPACITY - 1;
  // Where the last lookup that missed stopped, for insertMissed.
  private missHash = 0;
  private missBucket = -1;

  /** Keys held. */
  get size(): number {
    return this.keys.length;
  }

  /** Bytes of the table itself (the key strings excluded). */
  get tableBytes(): number {
    return this.entries.byteLength + 8 * this.keys.length;
  }

  /** The key's slot, or -1 when it has none (then insertMissed may follow). The hot path. */
  lookup(key: string): number {
    const h = keyHash(key);
    const entries = this.entries;
    const mask = this.mask;
    let b = h & mask;
    for (;;) {
      const slot = entries[2 * b + 1]!;
      if (slot === 0) break;
      if (entries[2 * b] === h && this.keys[slot - 1] === key) return slot - 1;
      b = (b + 1) & mask;
    }
    this.missHash = h;
    this.missBucket = b;
    return -1;
  }

  /** Gives the key the last lookup missed the next slot, and returns it. */
  insertMissed(key: string): number {
    const b = this.missBucket;
    if (b < 0) throw new LaminateError('INTERNAL', 'Expected KeyTable.insertMissed right after a lookup that missed, got none');
    this.missBucket = -1;
    const slot = this.keys.length;
    this.keys.push(key);
    this.entries[2 * b] = this.missHash;
    this.entries[2 * b + 1] = slot + 1;
    if (2 * this.keys.length > this.mask + 1) this.rehash();
    return slot;
  }

  /** Forgets every key; keeps the capacity (the next spill's keys are likely as many). */
  clear(): void {
    this.keys.length = 0;
    this.entries.fill(0);
    this.missBucket = -1;
  }

  private rehash(): void {
    const old = this.entries;
    const capacity = 2 * (this.mask + 1);
    const entries = new Int32Array(2 * capacity);
    const mask = capacity - 1;
    for (let i = 0; i < old.length; i += 2) {
      const slot = old[i + 1]!;
      if (slot === 0) continue;
      const h = old[i]!;
      let b = h & mask;
      while (entries[2 * b + 1] !== 0) b = (b + 1) & mask;
      entries[2 * b] = h;
      entries[2 * b + 1] = slot;
    }
    this.entries = entries;
    this.mask = mask;
  }
}
