/**
 * The calls in flight on a call stream (call-stream.ts), by the id the
 * client gave each: a ring of slots indexed by the id's low bits, grown when
 * a new id would land on a slot still held. The client numbers its calls 1,
 * 2, 3, ... so the calls in flight are a window of recent ids and a ring as
 * wide as that window holds them without collisions.
 *
 * Why not a Map: a Map with calls added and removed at thousands per second
 * rebuilds its hash table every few dozen calls, and V8 links each obsolete
 * table to its successor (for iterators that were walking it). Once one
 * table has lived through two scavenges it sits in the old generation, its
 * link keeps the next table alive through every scavenge, and that one the
 * next: each table, with the calls it held when it was replaced and all
 * they reach (their promises, answers, coverage), is copied into the old
 * generation until a full collection breaks the chain. Measured on the
 * serving benchmark's load generator at 8,000 Gets/s: 1.2-1.5 MB promoted
 * per scavenge (33 MB in a run), scavenges of 4-9 ms; with this ring 5.5 MB
 * in the run and scavenges of about 1-2 ms (bench/README.md, serving). The
 * ring's arrays live as long as the client; a freed slot is cleared, so
 * nothing answered is kept.
 *
 * Who calls it: CallStreamMux only, from its one event loop.
 */
import { LaminateError } from '../common/errors.js';

/** Slots at first: twice the calls a Get client at 8,000/s has in flight for a few milliseconds. */
const INITIAL_SLOTS = 64;

export class PendingCalls<P> {
  /** The id held by each slot, or -1. */
  private ids: number[];
  private calls: (P | undefined)[];
  private mask: number;
  private count = 0;

  constructor(initialSlots = INITIAL_SLOTS) {
    const n = 2 ** Math.ceil(Math.log2(Math.max(2, initialSlots)));
    this.ids = new Array<number>(n).fill(-1);
    this.calls = new Array<P | undefined>(n).fill(undefined);
    this.mask = n - 1;
  }

  /** Calls held. */
  get size(): number {
    return this.count;
  }

  /** Slots now (grows, never shrinks while the client lives): for tests. */
  get capacity(): number {
    return this.mask + 1;
  }

  /** Holds `call` under `id` (a non-negative safe integer not held now). */
  add(id: number, call: P): void {
    if (this.ids[this.slot(id)] === id) throw new LaminateError('INTERNAL', `Expected the id of a new call, got ${id}, which a call in flight holds`);
    while (this.ids[this.slot(id)] !== -1) this.grow();
    const i = this.slot(id);
    this.ids[i] = id;
    this.calls[i] = call;
    this.count++;
  }

  /** The call held under `id`, no longer held; undefined when none is (answered, expired, or never sent). */
  take(id: number): P | undefined {
    const i = this.slot(id);
    if (this.ids[i] !== id) return undefined;
    const call = this.calls[i];
    this.ids[i] = -1;
    this.calls[i] = undefined;
    this.count--;
    return call;
  }

  /** Every call held, with its id, in slot order; safe to take() the entry being visited. */
  *entries(): IterableIterator<[number, P]> {
    for (let i = 0; i <= this.mask; i++) {
      const id = this.ids[i]!;
      if (id !== -1) yield [id, this.calls[i]!];
    }
  }

  /** Removes and returns every call held. */
  takeAll(): P[] {
    const all: P[] = [];
    for (let i = 0; i <= this.mask; i++) {
      if (this.ids[i] === -1) continue;
      all.push(this.calls[i]!);
      this.ids[i] = -1;
      this.calls[i] = undefined;
    }
    this.count = 0;
    return all;
  }

  /** The slot of `id`: its low bits (ids past 2^32 keep their low 32 bits under `&`). */
  private slot(id: number): number {
    return id & this.mask;
  }

  /** Doubles the ring until every held id has a slot of its own. */
  private grow(): void {
    const held = [...this.entries()];
    let n = (this.mask + 1) * 2;
    for (;;) {
      const mask = n - 1;
      const seen = new Set<number>();
      if (held.every(([id]) => !seen.has(id & mask) && seen.add(id & mask))) break;
      n *= 2;
    }
    this.ids = new Array<number>(n).fill(-1);
    this.calls = new Array<P | undefined>(n).fill(undefined);
    this.mask = n - 1;
    for (const [id, call] of held) {
      this.ids[id & this.mask] = id;
      this.calls[id & this.mask] = call;
    }
  }
}
