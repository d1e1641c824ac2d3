/**
 * A cache of checked blocks, least recently used evicted first, bounded by
 * bytes: what keeps the hot keys of a zipfian Get load off the disk and off
 * the CRC. One cache may serve every reader of a serving process (pass it
 * to each ViewFileReader.open), so its budget bounds them all together.
 *
 * Each reader's blocks sit in a Map of its own keyed by block number (small
 * integers: V8's fast keys), and all entries in one doubly linked list in
 * order of use, so a hit costs a Map lookup and two pointer moves.
 */
import { describe, LaminateError } from '../common/errors.js';
import type { Block } from './view-block.js';

/** Default budget of a cache a reader makes for itself: 16 MiB (1,000 blocks of 16 KiB). */
export const DEFAULT_BLOCK_CACHE_BYTES = 16 * 1024 * 1024;

interface Entry {
  readonly owner: number;
  readonly block: number;
  readonly value: Block;
  /** Neighbours in order of use: `older` towards the next eviction. */
  older: Entry | undefined;
  newer: Entry | undefined;
}

export class BlockCache {
  private readonly owners = new Map<number, Map<number, Entry>>();
  /** The least recently used entry (evicted first) and the most recent one. */
  private oldest: Entry | undefined;
  private newest: Entry | undefined;
  private used = 0;
  private count = 0;
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
    return this.count;
  }

  /** A new owner number for a reader's blocks. Called once per reader at open; never repeats within this cache. */
  register(): number {
    return this.nextOwner++;
  }

  /** The cached block, made the most recently used; undefined when not cached. */
  get(owner: number, block: number): Block | undefined {
    const e = this.owners.get(owner)?.get(block);
    if (e === undefined) return undefined;
    if (e !== this.newest) {
      this.unlink(e);
      this.append(e);
    }
    return e.value;
  }

  /**
   * Caches a block, evicting the least recently used ones to stay within
   * the budget. A block larger than an eighth of the budget is not cached:
   * one oversized value would otherwise flush the hot set.
   */
  set(owner: number, block: number, value: Block): void {
    if (value.bytes > this.maxBytes / 8) return;
    let blocks = this.owners.get(owner);
    if (blocks === undefined) {
      blocks = new Map();
      this.owners.set(owner, blocks);
    }
    const old = blocks.get(block);
    if (old !== undefined) this.remove(old);
    const e: Entry = { owner, block, value, older: undefined, newer: undefined };
    blocks.set(block, e);
    this.append(e);
    this.used += value.bytes;
    this.count++;
    while (this.used > this.maxBytes && this.oldest !== undefined) this.remove(this.oldest);
  }

  /**
   * Drops every block of an owner. Called by a reader when it closes; safe
   * to repeat.
   */
  dropOwner(owner: number): void {
    const blocks = this.owners.get(owner);
    if (blocks === undefined) return;
    for (const e of [...blocks.values()]) this.remove(e);
    this.owners.delete(owner);
  }

  private remove(e: Entry): void {
    this.unlink(e);
    const blocks = this.owners.get(e.owner)!;
    blocks.delete(e.block);
    if (blocks.size === 0) this.owners.delete(e.owner);
    this.used -= e.value.bytes;
    this.count--;
  }

  private unlink(e: Entry): void {
    if (e.older === undefined) this.oldest = e.newer;
    else e.older.newer = e.newer;
    if (e.newer === undefined) this.newest = e.older;
    else e.newer.older = e.older;
    e.older = undefined;
    e.newer = undefined;
  }

  private append(e: Entry): void {
    e.older = this.newest;
    e.newer = undefined;
    if (this.newest === undefined) this.oldest = e;
    else this.newest.newer = e;
    this.newest = e;
  }
}
