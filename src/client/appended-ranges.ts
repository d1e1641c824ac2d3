/**
 * The offsets an append got, as runs of consecutive offsets per partition:
 * what `LaminateClient.append` resolves to and `laminate append` prints.
 * Fed one acknowledgement at a time, in any order across partitions and in
 * offset order within one (as a producer acknowledges them).
 */
import type { RecordAck } from './producer.js';

/** A run of consecutive offsets of one partition that an append got. */
export interface AppendedRange {
  readonly partition: number;
  readonly firstOffset: number;
  readonly count: number;
}

export class AppendedRanges {
  private readonly runs = new Map<number, AppendedRange[]>();
  private records = 0;
  private stored = 0;

  /** Counts a record; one that an earlier run had stored (a replay's) joins no run. */
  add(ack: RecordAck): void {
    if (ack.alreadyStored) {
      this.stored++;
      return;
    }
    let runs = this.runs.get(ack.partition);
    if (!runs) this.runs.set(ack.partition, (runs = []));
    const last = runs[runs.length - 1];
    if (last && last.firstOffset + last.count === ack.offset) runs[runs.length - 1] = { ...last, count: last.count + 1 };
    else runs.push({ partition: ack.partition, firstOffset: ack.offset, count: 1 });
    this.records++;
  }

  /** Records acknowledged so far and stored by this append. */
  get count(): number {
    return this.records;
  }

  /** Records acknowledged as stored by an earlier run (a replay's), not stored again. */
  get alreadyStored(): number {
    return this.stored;
  }

  /** The runs by partition, then offset: one per partition unless another writer appended in between. */
  list(): AppendedRange[] {
    return [...this.runs.keys()].sort((a, b) => a - b).flatMap((p) => this.runs.get(p)!);
  }

  /** "0:0+120, 1:0+80": partition:firstOffset+count, for messages. */
  toString(): string {
    return this.list().map((r) => `${r.partition}:${r.firstOffset}+${r.count}`).join(', ');
  }
}
