/**
 * A seeded generator of the Yahoo Streaming Benchmark's ad events
 * (`{ user_id, page_id, ad_id, ad_type, event_type, event_time, ip_address }`,
 * about 240 bytes as JSON): ads uniform over the 1,000 ads of
 * ysb-campaigns.ts, ad types and event types (view, click, purchase)
 * uniform, user and page ids from pools of 100 UUIDs each, and the event
 * time of event i its *scheduled* send time, `startMs + i * 1000 / rate`
 * (YSB's generator stamps each event with the time it was meant to be sent,
 * so that a generator running late shows up as latency, not as a slower
 * clock). Deterministic for (seed, startMs, rate); events are made on the
 * fly, so millions never sit in memory.
 */
import { Prng } from '../data-gen/prng.js';
import { AD_TYPES, EVENT_TYPES, type YsbEvent } from '../data-gen/ysb-events.js';
import { ADS, uuidOf } from './ysb-campaigns.js';

export { AD_TYPES, EVENT_TYPES, type YsbEvent };

const POOL = 100;

export interface YsbScheduleOptions {
  /** Epoch ms of event 0's scheduled send time. */
  readonly startMs: number;
  /** Events per second the schedule spaces them at. */
  readonly rate: number;
}

/** The schedule of the floor's events (baselines/streaming-floor.ts), which the benchmark regenerates to check its counts. */
export const FLOOR_SCHEDULE: YsbScheduleOptions = { startMs: 1_700_000_000_000, rate: 100_000 };

export class YsbGenerator {
  private readonly prng: Prng;
  private readonly users: string[];
  private readonly pages: string[];
  private readonly msPerEvent: number;
  private i = 0;

  constructor(seed: number, readonly schedule: YsbScheduleOptions) {
    if (!(schedule.rate > 0)) throw new Error(`Expected a positive rate, got ${schedule.rate}`);
    this.prng = new Prng(seed);
    this.users = Array.from({ length: POOL }, () => uuidOf(this.prng));
    this.pages = Array.from({ length: POOL }, () => uuidOf(this.prng));
    this.msPerEvent = 1000 / schedule.rate;
  }

  /** Events generated so far (the index of the next one). */
  get count(): number {
    return this.i;
  }

  /** The scheduled send time of event `i` (epoch ms, fractional). */
  scheduledAt(i: number): number {
    return this.schedule.startMs + i * this.msPerEvent;
  }

  next(): YsbEvent {
    const r = this.prng.u32();
    const s = this.prng.u32();
    const event: YsbEvent = {
      user_id: this.users[r % POOL]!,
      page_id: this.pages[(r >>> 8) % POOL]!,
      ad_id: ADS[s % ADS.length]!,
      ad_type: AD_TYPES[(r >>> 16) % AD_TYPES.length]!,
      event_type: EVENT_TYPES[(r >>> 24) % EVENT_TYPES.length]!,
      event_time: Math.floor(this.scheduledAt(this.i)),
      ip_address: `${(s >>> 24) & 255}.${(s >>> 16) & 255}.${(s >>> 10) & 255}.${(s >>> 2) & 255}`,
    };
    this.i++;
    return event;
  }
}
