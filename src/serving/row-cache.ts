/**
 * A row cache: the stored value of hot keys, copied out of their blocks,
 * so that a Get of a key read recently costs a hash probe and a copy
 * instead of the block index's binary search, a block cache lookup and a
 * walk of the block's entries (RocksDB's `row_cache` plays this part in
 * front of its block cache). Under a zipfian Get load most reads are of a
 * few hot keys spread over every block of the view: each block lookup then
 * touches half a dozen cache lines and pages far apart, and a hit here two
 * or three (bench/README.md, serving: the node's CPU per MultiGet key).
 *
 * Entries belong to an owner (one per loaded version, register()): a key
 * is found only under the owner that stored it, so an answer never mixes
 * versions, and a retired version's entries are simply never asked for
 * again. Values are the bytes a block held after its checksum was
 * verified, and a version is immutable, so an entry never goes stale.
 *
 * Memory is two generations of half the budget each, every one an arena
 * of entries (owner, key, value bytes, back to back in one buffer) and an
 * open-addressing table of (hash, offset) pairs: no object per entry, and
 * nothing for the garbage collector to walk. New entries go into the
 * current generation; a hit in the previous one is copied forward. When
 * the current one is full (its arena, or its table half used), the
 * previous one is dropped whole and the current one becomes the previous:
 * what stays hot survives by being copied forward, the rest ages out two
 * generations later. A key is admitted on its second miss since the last
 * turn (a bitmap of hashes, TinyLFU's "doorkeeper"), so one pass over
 * every key (a warm-up, a Scan-like MultiGet) does not flush the hot set.
 *
 * Not safe for concurrent use; a serving node's Gets are answered on one
 * thread, each with no await between its lookups (query-handlers.ts).
 */
import { describe, LaminateError } from '../common/errors.js';

/** Default budget of `laminate serve`'s row cache: 32 MiB. */
export const DEFAULT_ROW_CACHE_BYTES = 32 * 1024 * 1024;

/** Entry header: owner (u32), key length (u16), value length (u32). */
const HEADER_BYTES = 10;
/** Table bytes per arena byte: a slot (8 bytes) per 64 arena bytes, at most half of them used. */
const ARENA_BYTES_PER_SLOT = 64;
/** Keys longer than this are not cached (the u16 length; such keys are rare, and cost their lookup anyway). */
const MAX_KEY_BYTES = 0xffff;
/** Doorkeeper bits per table slot: 8 per entry a generation may hold, so that it fills long after the generation does. */
const DOORKEEPER_BITS_PER_SLOT = 4;
/** Smallest budget: less holds no hot set worth the probe. */
const MIN_BYTES = 64 * 1024;
/** Largest budget: a generation's arena offsets (+ 1) must fit the table's 32-bit words. */
export const MAX_ROW_CACHE_BYTES = 4 * 1024 * 1024 * 1024;

/** Where a hit's value is: `arena[valueStart, valueEnd)` (its key just before it); valid until the next put or lookup. */
export interface RowHit {
  arena: Buffer;
  valueStart: number;
  valueEnd: number;
}

class Generation {
  readonly arena: Buffer;
  /** Slot i: table[2i] the hash, table[2i + 1] the entry's offset + 1 (0: empty). */
  readonly table: Uint32Array;
  readonly mask: number;
  top = 0;
  entries = 0;

  constructor(arenaBytes: number, slots: number) {
    this.arena = Buffer.allocUnsafeSlow(arenaBytes);
    this.table = new Uint32Array(2 * slots);
    this.mask = slots - 1;
  }

  /** The offset of the entry of (owner, key), or -1. */
  find(hash: number, owner: number, key: Buffer, length: number): number {
    const table = this.table;
    const arena = this.arena;
    let s = hash & this.mask;
    for (;;) {
      const at = table[2 * s + 1]!;
      if (at === 0) return -1;
      if (table[2 * s] === hash) {
        const e = at - 1;
        if (arena.readUInt32LE(e) === owner && arena.readUInt16LE(e + 4) === length) {
          const k = e + HEADER_BYTES;
          let i = 0;
          while (i < length && arena[k + i] === key[i]) i++;
          if (i === length) return e;
        }
      }
      s = (s + 1) & this.mask;
    }
  }

  /** Whether an entry of `bytes` fits without passing the arena or half the table. */
  fits(bytes: number): boolean {
    return this.top + bytes <= this.arena.length && 2 * (this.entries + 1) <= this.mask + 1;
  }

  /** Appends an entry (fits() said so, find() said it is not there); returns its offset. */
  add(hash: number, owner: number, key: Buffer, keyStart: number, length: number, value: Buffer, valueStart: number, valueEnd: number): number {
    const e = this.top;
    const arena = this.arena;
    arena.writeUInt32LE(owner, e);
    arena.writeUInt16LE(length, e + 4);
    arena.writeUInt32LE(valueEnd - valueStart, e + 6);
    key.copy(arena, e + HEADER_BYTES, keyStart, keyStart + length);
    value.copy(arena, e + HEADER_BYTES + length, valueStart, valueEnd);
    this.top = e + HEADER_BYTES + length + valueEnd - valueStart;
    let s = hash & this.mask;
    while (this.table[2 * s + 1] !== 0) s = (s + 1) & this.mask;
    this.table[2 * s] = hash;
    this.table[2 * s + 1] = e + 1;
    this.entries++;
    return e;
  }

  clear(): void {
    this.table.fill(0);
    this.top = 0;
    this.entries = 0;
  }
}

export class RowCache {
  private current: Generation | undefined;
  private previous: Generation | undefined;
  /** Hashes offered once since the last turn; allocated at the first put(). */
  private doorkeeper: Uint8Array | undefined;
  private nextOwner = 1;
  private readonly arenaBytes: number;
  private readonly slots: number;
  private readonly doorkeeperBits: number;
  private readonly hit: RowHit = { arena: Buffer.alloc(0), valueStart: 0, valueEnd: 0 };
  /** Lookups answered from the cache, and not, since the start (a Get that then goes the general way keeps its counts: the lookups were made). */
  hits = 0;
  misses = 0;
  /** Times the current generation became the previous one. */
  turns = 0;

  /**
   * @param maxBytes the budget: both generations (arenas and tables) and
   *   the doorkeeper. 0 caches nothing (every lookup misses, put() keeps
   *   nothing, nothing is allocated); otherwise from 64 KiB to 4 GiB.
   */
  constructor(readonly maxBytes: number = DEFAULT_ROW_CACHE_BYTES) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0 || (maxBytes > 0 && maxBytes < MIN_BYTES) || maxBytes > MAX_ROW_CACHE_BYTES) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected a row cache size of 0 (none) or from 64 KiB to 4 GiB, in whole bytes, got ${describe(maxBytes)}`);
    }
    // Per generation: a table of a slot (8 bytes) per ARENA_BYTES_PER_SLOT arena bytes, rounded down to a power of
    // two, and the arena; the doorkeeper's DOORKEEPER_BITS_PER_SLOT bits per slot come out of the budget first.
    this.slots = maxBytes === 0 ? 0 : 2 ** Math.floor(Math.log2(maxBytes / 2 / (ARENA_BYTES_PER_SLOT + 8)));
    this.doorkeeperBits = DOORKEEPER_BITS_PER_SLOT * this.slots;
    this.arenaBytes = maxBytes === 0 ? 0 : Math.floor((maxBytes - this.doorkeeperBits / 8) / 2) - 8 * this.slots;
  }

  /** Whether it caches anything (a budget above 0). */
  get enabled(): boolean {
    return this.slots > 0;
  }

  /** Bytes allocated now: the generations' arenas and tables, and the doorkeeper. */
  get bytes(): number {
    let n = this.doorkeeper?.byteLength ?? 0;
    for (const g of [this.current, this.previous]) if (g !== undefined) n += g.arena.byteLength + g.table.byteLength;
    return n;
  }

  /** Entries held now. */
  get entries(): number {
    return (this.current?.entries ?? 0) + (this.previous?.entries ?? 0);
  }

  /** A new owner number (one per loaded version); never repeats within this cache. */
  register(): number {
    return this.nextOwner++;
  }

  /** FNV-1a of the owner and `key[0, length)`: what get() and put() take. */
  static hash(owner: number, key: Buffer, length: number): number {
    let h = Math.imul(0x811c9dc5 ^ owner, 0x01000193);
    for (let i = 0; i < length; i++) h = Math.imul(h ^ key[i]!, 0x01000193);
    return h >>> 0;
  }

  /**
   * The cached value of (owner, key[0, length)): where its bytes are (the
   * same object every call: read it before the next get() or put()), or
   * undefined. A hit in the previous generation is copied into the current
   * one when it has room. Never turns the generations (put() does).
   */
  get(owner: number, key: Buffer, length: number, hash: number): RowHit | undefined {
    const cur = this.current;
    if (cur !== undefined) {
      const e = cur.find(hash, owner, key, length);
      if (e >= 0) return this.found(cur, e, length);
    }
    const prev = this.previous;
    if (prev !== undefined && cur !== undefined) {
      const e = prev.find(hash, owner, key, length);
      if (e >= 0) {
        // Copied forward, so that it outlives the previous generation; when the current one is full,
        // answered from where it is (the next put turns the generations).
        const valueStart = e + HEADER_BYTES + length;
        const valueEnd = valueStart + prev.arena.readUInt32LE(e + 6);
        if (!cur.fits(valueEnd - e)) return this.found(prev, e, length);
        return this.found(cur, cur.add(hash, owner, prev.arena, e + HEADER_BYTES, length, prev.arena, valueStart, valueEnd), length);
      }
    }
    this.misses++;
    return undefined;
  }

  /**
   * Offers the value of a key just read from its block (after get() missed):
   * kept on the key's second offer since the generations last turned. A
   * value that would take more than an eighth of a generation is not kept.
   */
  put(owner: number, key: Buffer, length: number, hash: number, value: Buffer, valueStart: number, valueEnd: number): void {
    if (this.slots === 0 || length > MAX_KEY_BYTES) return;
    const bytes = HEADER_BYTES + length + valueEnd - valueStart;
    if (bytes > this.arenaBytes / 8) return;
    const doorkeeper = this.doorkeeper ??= new Uint8Array(this.doorkeeperBits / 8);
    const bit = hash & (this.doorkeeperBits - 1);
    const mask = 1 << (bit & 7);
    if ((doorkeeper[bit >>> 3]! & mask) === 0) {
      doorkeeper[bit >>> 3]! |= mask;
      return;
    }
    this.room(bytes).add(hash, owner, key, 0, length, value, valueStart, valueEnd);
  }

  /** Drops every entry (both generations let go). */
  clear(): void {
    this.current = undefined;
    this.previous = undefined;
    this.doorkeeper = undefined;
    this.hit.arena = Buffer.alloc(0);
  }

  /** The current generation with room for `bytes`, turning the generations when it has none. */
  private room(bytes: number): Generation {
    let cur = this.current;
    if (cur === undefined) {
      cur = new Generation(this.arenaBytes, this.slots);
      this.current = cur;
    }
    if (cur.fits(bytes)) return cur;
    // Turn: the previous generation's memory becomes the new current one.
    const next = this.previous ?? new Generation(this.arenaBytes, this.slots);
    next.clear();
    this.previous = cur;
    this.current = next;
    this.doorkeeper?.fill(0);
    this.turns++;
    return next;
  }

  private found(g: Generation, e: number, length: number): RowHit {
    this.hits++;
    const h = this.hit;
    h.arena = g.arena;
    h.valueStart = e + HEADER_BYTES + length;
    h.valueEnd = h.valueStart + g.arena.readUInt32LE(e + 6);
    return h;
  }
}
