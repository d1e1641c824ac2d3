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
const HEX_CODES = Buffer.from('0123456789abcdef', 'latin1');
const DASH = 0x2d;
const UUID_LENGTH = 36;

export class YsbEventGenerator {
  private readonly prng: Prng;
  private readonly ads: string[];
  private time: number;
  private readonly uuidBytes = Buffer.alloc(UUID_LENGTH);

  constructor(seed: number, startTimeMs = 1_700_000_000_000) {
    this.prng = new Prng(seed);
    this.time = startTimeMs;
    this.ads = Array.from({ length: ADS }, () => this.uuid());
  }

  /**
   * The same characters as one `s += HEX[...]` per digit, without the 36
   * intermediate strings that cost more than the rest of an event (the
   * client's and the floor's scavenges, which weighed on the open loop's p99).
   */
  private uuid(): string {
    const b = this.uuidBytes;
    for (let i = 0, at = 0; i < 32; i++) {
      if (i === 8 || i === 12 || i === 16 || i === 20) b[at++] = DASH;
      b[at++] = HEX_CODES[this.prng.u32() & 15]!;
    }
    return b.toString('latin1', 0, UUID_LENGTH);
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
