/**
 * A cache of checked blocks, least recently used evicted first, bounded by
 * bytes: what keeps the hot keys of a zipfian Get load off the disk and off
 * the CRC. One cache may serve every reader of a serving process (pass it
 * to each ViewFileReader.open), so its budget bounds them all together.
 */
import { describe, LaminateError } from '../common/errors.js';
import type { Block } from './view-block.js';

/** Default budget of a cache a reader makes for itself: 16 MiB (500 blocks of 32 KiB). */
export const DEFAULT_BLOCK_CACHE_BYTES = 16 * 1024 * 1024;

/** Owners a cache can number in its life: keys are owner * 2^32 + block, below 2^53. */
const MAX_OWNERS = 2 ** 21;

export class BlockCache {
  /** A Map iterates in insertion order: the first entry is the least recently used. */
  private readonly entries = new Map<number, Block>();
  private used = 0;
  private nextOwner = 1;

  /** @param maxBytes the budget, in bytes of block payloads; 0 caches nothing. */
  constructor(readonly maxBytes: number = DEFAULT_BLOCK_CACHE_BYTES) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected a block cache size that is a non-negative integer of bytes, got ${describe(maxBytes)}`);
    }
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.used;
  }

  /** Blocks held now. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * A new owner number for a reader's blocks. Called once per reader at
   * open; never repeats within this cache.
   *
   * @throws LaminateError RESOURCE_EXHAUSTED after 2^21 readers (make a new cache).
   */
  register(): number {
    if (this.nextOwner >= MAX_OWNERS) {
      throw new LaminateError('RESOURCE_EXHAUSTED', `This block cache has numbered ${MAX_OWNERS - 1} readers, its limit; give new readers a new cache`);
    }
    return this.nextOwner++;
  }

  /** The cached block, made the most recently used; undefined when not cached. */
  get(owner: number, block: number): Block | undefined {
    const key = owner * 0x1_0000_0000 + block;
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  /**
   * Caches a block, evicting the least recently used ones to stay within
   * the budget. A block larger than an eighth of the budget is not cached:
   * one oversized value would otherwise flush the hot set.
   */
  set(owner: number, block: number, value: Block): void {
    if (value.bytes > this.maxBytes / 8) return;
    const key = owner * 0x1_0000_0000 + block;
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.used -= old.bytes;
    }
    this.entries.set(key, value);
    this.used += value.bytes;
    if (this.used <= this.maxBytes) return;
    for (const [k, b] of this.entries) {
      if (this.used <= this.maxBytes) break;
      this.entries.delete(k);
      this.used -= b.bytes;
    }
  }

  /**
   * Drops every block of an owner. Called by a reader when it closes (a
   * pass over the cache: a few thousand entries at most); safe to repeat.
   */
  dropOwner(owner: number): void {
    const low = owner * 0x1_0000_0000;
    const high = low + 0x1_0000_0000;
    for (const [k, b] of this.entries) {
      if (k >= low && k < high) {
        this.entries.delete(k);
        this.used -= b.bytes;
      }
    }
  }
}
