/**
 * The Yahoo Streaming Benchmark's campaigns: 100 campaigns of 10 ads each,
 * their ids UUIDs drawn from a fixed seed, so that the generator, the view
 * (which bundles this module: the join table ships with the view, as YSB's
 * Redis table ships with its topology), the floor and the reference all see
 * the same table. Pure data; imports nothing of the engine.
 */
import { Prng } from '../data-gen/prng.js';

export const YSB_CAMPAIGNS = 100;
export const YSB_ADS_PER_CAMPAIGN = 10;
/** The query's tumbling window of event time, in ms. */
export const YSB_WINDOW_MS = 10_000;
/** The table's seed: fixed, so that every run and every process agrees. */
const TABLE_SEED = 20261201;
const HEX = '0123456789abcdef';

/** A random UUID-shaped id (8-4-4-4-12 hex digits) from `prng`. */
export function uuidOf(prng: Prng): string {
  let s = '';
  for (let i = 0; i < 32; i++) {
    if (i === 8 || i === 12 || i === 16 || i === 20) s += '-';
    s += HEX[prng.u32() & 15]!;
  }
  return s;
}

function makeTable(): { campaigns: string[]; ads: string[]; campaignOfAd: Map<string, string> } {
  const prng = new Prng(TABLE_SEED);
  const campaigns: string[] = [];
  const ads: string[] = [];
  const campaignOfAd = new Map<string, string>();
  for (let c = 0; c < YSB_CAMPAIGNS; c++) {
    const campaign = uuidOf(prng);
    campaigns.push(campaign);
    for (let a = 0; a < YSB_ADS_PER_CAMPAIGN; a++) {
      const ad = uuidOf(prng);
      ads.push(ad);
      campaignOfAd.set(ad, campaign);
    }
  }
  return { campaigns, ads, campaignOfAd };
}

const TABLE = makeTable();

/** The 100 campaign ids. */
export const CAMPAIGNS: readonly string[] = TABLE.campaigns;
/** The 1,000 ad ids, campaign by campaign (ads 10c to 10c + 9 belong to campaign c). */
export const ADS: readonly string[] = TABLE.ads;
/** The join: ad id -> campaign id. */
export const CAMPAIGN_OF_AD: ReadonlyMap<string, string> = TABLE.campaignOfAd;
