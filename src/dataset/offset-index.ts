/**
 * A sparse offset index of one segment, in memory: (offset, file position)
 * of a batch start every `intervalBytes` or so, so that a read from any
 * offset starts at most about that many bytes before its batch (Kafka's
 * OffsetIndex with index.interval.bytes; ours is rebuilt from the batch
 * headers rather than kept in a file). Entries are added in offset order.
 */
export class OffsetIndex {
  private offsets: number[] = [];
  private positions: number[] = [];
  private lastIndexedPosition = -Infinity;

  constructor(private readonly intervalBytes: number) {}

  /**
   * Notes a batch starting at `position` with first offset `offset`; kept
   * when it is the first or at least intervalBytes after the last kept one,
   * or when `force`d (the first whole batch after a damaged one). Called for
   * every batch, in order.
   */
  add(offset: number, position: number, force = false): void {
    if (position <= this.lastIndexedPosition) return;
    if (!force && position - this.lastIndexedPosition < this.intervalBytes) return;
    this.offsets.push(offset);
    this.positions.push(position);
    this.lastIndexedPosition = position;
  }

  /**
   * The last entry at or below `offset`: where to start reading to find it.
   * Undefined when the index is empty or every entry is above `offset`.
   */
  floor(offset: number): { offset: number; position: number } | undefined {
    let lo = 0;
    let hi = this.offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.offsets[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return undefined;
    return { offset: this.offsets[lo - 1]!, position: this.positions[lo - 1]! };
  }

  /** Drops the entries at or past `position` (after a truncation). */
  truncateAt(position: number): void {
    let n = this.positions.length;
    while (n > 0 && this.positions[n - 1]! >= position) n--;
    this.offsets.length = n;
    this.positions.length = n;
    this.lastIndexedPosition = n === 0 ? -Infinity : this.positions[n - 1]!;
  }

  get entries(): number {
    return this.offsets.length;
  }

  /** The entries (batch starts) in offset order; for split planning (split-ranges.ts). */
  *batchStarts(): Generator<{ offset: number; position: number }> {
    for (let i = 0; i < this.offsets.length; i++) yield { offset: this.offsets[i]!, position: this.positions[i]! };
  }
}
