/**
 * Events shaped like the Yahoo Streaming Benchmark's ad events (user, page
 * and ad ids as UUIDs, an ad type, an event type, an event time, an IP
 * address): about 200 bytes as JSON. Deterministic for a seed, generated on
 * the fly so that ten million of them never sit in memory at once.
 */
import { Prng } from './prng.js';

export interface YsbEvent {
  readonly user_id: string;
  readonly page_id: string;
  readonly ad_id: string;
  readonly ad_type: string;
  readonly event_type: string;
  readonly event_time: number;
  readonly ip_address: string;
}

export const AD_TYPES: readonly string[] = ['banner', 'modal', 'sponsored-search', 'mail', 'mobile'];
export const EVENT_TYPES: readonly string[] = ['view', 'click', 'purchase'];
/** YSB uses 100 campaigns of 10 ads each. */
const ADS = 1000;
const HEX = '0123456789abcdef';

export class YsbEventGenerator {
  private readonly prng: Prng;
  private readonly ads: string[];
  private time: number;

  constructor(seed: number, startTimeMs = 1_700_000_000_000) {
    this.prng = new Prng(seed);
    this.time = startTimeMs;
    this.ads = Array.from({ length: ADS }, () => this.uuid());
  }

  private uuid(): string {
    let s = '';
    for (let i = 0; i < 32; i++) {
      if (i === 8 || i === 12 || i === 16 || i === 20) s += '-';
      s += HEX[this.prng.u32() & 15]!;
    }
    return s;
  }

  next(): YsbEvent {
    this.time += this.prng.int(3);
    const r = this.prng.u32();
    return {
      user_id: this.uuid(),
      page_id: this.uuid(),
      ad_id: this.ads[r % ADS]!,
      ad_type: AD_TYPES[(r >>> 10) % AD_TYPES.length]!,
      event_type: EVENT_TYPES[(r >>> 13) % EVENT_TYPES.length]!,
      event_time: this.time,
      ip_address: `${(r >>> 24) & 255}.${(r >>> 16) & 255}.${(r >>> 8) & 255}.${r & 255}`,
    };
  }
}
