/**
 * The demo's referee: folds the `clicks` log, read back record by record,
 * into page views per page and minute, up to the offsets an answer's
 * coverage names, and compares. It shares no code with the engine (no view
 * definition, monoid, key encoding or window code): it is how a user would
 * check an answer by hand.
 */
import type { LaminateClient } from '../../client/laminate-client.js';

/** A view answer as the demo saw it: its entries and the offsets it says it counts. */
export interface SeenAnswer {
  readonly at: number;
  readonly merged: boolean;
  /** Per partition, the offset before which every record is counted (the speed vector, or the cut). */
  readonly upTo: readonly number[];
  /** `${page}|${minuteStart}` -> views. */
  readonly counts: ReadonlyMap<string, number>;
}

interface Compact {
  readonly key: string;
  readonly view: boolean;
}

/** Reads each partition once, as far as the furthest answer needs, and folds each answer's prefix. */
export class DemoReferee {
  private readonly log: Compact[][] = [];

  constructor(private readonly client: LaminateClient, private readonly dataset: string, partitions: number) {
    for (let p = 0; p < partitions; p++) this.log.push([]);
  }

  private async readTo(partition: number, end: number): Promise<void> {
    const have = this.log[partition]!;
    if (have.length >= end) return;
    for await (const r of this.client.read(this.dataset, { partition, from: have.length, endOffset: end })) {
      const c = r.record as { page_id: string; event_type: string; event_time: number };
      have.push({ key: `${c.page_id}|${c.event_time - (c.event_time % 60_000)}`, view: c.event_type === 'view' });
    }
  }

  /** The views per page and minute of every record before `upTo`. */
  async fold(upTo: readonly number[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (let p = 0; p < upTo.length; p++) {
      await this.readTo(p, upTo[p]!);
      const records = this.log[p]!;
      for (let i = 0; i < upTo[p]!; i++) {
        const r = records[i]!;
        if (r.view) counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
      }
    }
    return counts;
  }

  /** Undefined when `answer` equals the fold of its coverage; else the first difference. */
  async check(answer: SeenAnswer): Promise<string | undefined> {
    const expected = await this.fold(answer.upTo);
    for (const [k, v] of expected) {
      const got = answer.counts.get(k);
      if (got !== v) return `key ${k}: expected ${v} views (records before [${answer.upTo.join(',')}]), the answer said ${got ?? 'nothing'}`;
    }
    for (const [k, v] of answer.counts) {
      if (!expected.has(k)) return `key ${k}: the answer said ${v} views, the log up to [${answer.upTo.join(',')}] has none`;
    }
    return undefined;
  }
}
