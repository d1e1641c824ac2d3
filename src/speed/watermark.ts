/**
 * A windowed view's watermark over the partitions one speed process folds
 * (speed-spec "Watermark"): per partition, the largest event time seen and
 * when its last record arrived; the watermark is the least, over partitions
 * with a record within idleTimeoutMs, of their largest event time, minus the
 * window's allowed lateness. A windowed key is final once
 * windowStart + windowSize <= watermark.
 *
 * Cases, and why:
 *   no partition has seen a record        -> undefined (nothing to say)
 *   every partition that has seen one is idle -> the largest event time over them, minus lateness:
 *                                            an idle partition does not hold the watermark back,
 *                                            so when all are idle none does
 *   a computed value below one given before -> the earlier one: a window once shown final stays
 *                                            final (a partition waking up with older times must
 *                                            not take a final flag back)
 *
 * Pure; time comes in as `now`.
 */

/** One partition's part, as checkpoints save it. */
export interface PartitionWatermark {
  /** The largest event time folded (ms since the epoch); undefined before any. */
  readonly maxEventTime: number | undefined;
  /** When its last record was folded (ms since the epoch), 0 if never. */
  readonly lastRecordAt: number;
}

export class WatermarkTracker {
  private readonly parts = new Map<number, { maxEventTime: number | undefined; lastRecordAt: number }>();
  private given: number | undefined;

  constructor(private readonly latenessMs: number, private readonly idleTimeoutMs: number) {}

  /** A record of `partition` with event time `t` was folded at `now`. Called once per record that emitted. */
  observe(partition: number, t: number, now: number): void {
    let p = this.parts.get(partition);
    if (p === undefined) this.parts.set(partition, (p = { maxEventTime: undefined, lastRecordAt: 0 }));
    if (p.maxEventTime === undefined || t > p.maxEventTime) p.maxEventTime = t;
    p.lastRecordAt = now;
  }

  /** The partition's part (for its checkpoint). */
  state(partition: number): PartitionWatermark {
    const p = this.parts.get(partition);
    return p === undefined ? { maxEventTime: undefined, lastRecordAt: 0 } : { ...p };
  }

  /** Restores a partition's part (from its checkpoint). */
  restore(partition: number, saved: PartitionWatermark): void {
    this.parts.set(partition, { maxEventTime: saved.maxEventTime, lastRecordAt: saved.lastRecordAt });
  }

  /** Forgets a partition (moved away, or reset: its times will be seen again). */
  remove(partition: number): void {
    this.parts.delete(partition);
  }

  /** The watermark at `now`, or undefined before any event time. */
  watermark(now: number): number | undefined {
    let active: number | undefined;
    let any: number | undefined;
    for (const p of this.parts.values()) {
      if (p.maxEventTime === undefined) continue;
      any = any === undefined ? p.maxEventTime : Math.max(any, p.maxEventTime);
      if (now - p.lastRecordAt <= this.idleTimeoutMs) active = active === undefined ? p.maxEventTime : Math.min(active, p.maxEventTime);
    }
    const least = active ?? any;
    if (least === undefined) return this.given;
    const w = least - this.latenessMs;
    if (this.given === undefined || w > this.given) this.given = w;
    return this.given;
  }
}
