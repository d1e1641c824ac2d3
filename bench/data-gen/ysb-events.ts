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
/** Node's native latin1 decoder, which `toString('latin1')` reaches through two wrappers (a third of uuid()'s cost); undocumented, so with the wrapper where absent. */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice?: (this: Buffer, start: number, end: number) => string }).latin1Slice ??
  function (this: Buffer, start: number, end: number): string { return this.toString('latin1', start, end); };
/** The decimal strings of 0-255, for IP addresses: four number-to-string conversions per event cost more than the rest of it. */
const OCTETS: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

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
   * 32 hex digits from 4 draws of 32 bits (8 digits each), written as
   * bytes and read back as one string: one `s += HEX[...]` per digit made 36
   * intermediate strings, and a draw per digit cost as much again; together
   * they were a third of the ingest client's CPU, paid by the floor too.
   */
  private uuid(): string {
    const b = this.uuidBytes;
    let at = 0;
    for (let word = 0; word < 4; word++) {
      let bits = this.prng.u32();
      for (let k = 0; k < 8; k++) {
        if (at === 8 || at === 13 || at === 18 || at === 23) b[at++] = DASH;
        b[at++] = HEX_CODES[bits & 15]!;
        bits >>>= 4;
      }
    }
    return latin1Slice.call(b, 0, UUID_LENGTH);
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
      ip_address: OCTETS[(r >>> 24) & 255]! + '.' + OCTETS[(r >>> 16) & 255]! + '.' + OCTETS[(r >>> 8) & 255]! + '.' + OCTETS[r & 255]!,
    };
  }
}
