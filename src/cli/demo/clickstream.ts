/**
 * The demo's clickstream: page events of a small site, generated from a
 * seed at a steady rate and appended through a producer. Pages are drawn
 * with Zipf-like weights (a few pages get most views, as on a real site);
 * event time is the time the event is sent.
 */
import { seededRandom } from '../../common/seeded-random.js';

/** One event of the clickstream, as appended to the `clicks` dataset. */
export interface Click {
  readonly user_id: string;
  readonly page_id: string;
  readonly event_type: 'view' | 'click' | 'purchase';
  readonly event_time: number;
}

const PAGES = [
  'home', 'pricing', 'docs', 'blog', 'signup', 'login', 'features', 'about', 'careers', 'contact',
  'docs/install', 'docs/views', 'docs/speed', 'docs/functions', 'blog/lambda', 'blog/kappa', 'changelog', 'status', 'security', 'terms',
];

/** A generator of clicks: the same seed gives the same pages, users and types. */
export function clickGenerator(seed: number): (eventTime: number) => Click {
  const random = seededRandom(seed);
  // Zipf(1): page i has weight 1/(i+1); cumulative weights for a binary search.
  const cumulative: number[] = [];
  let total = 0;
  for (let i = 0; i < PAGES.length; i++) cumulative.push((total += 1 / (i + 1)));
  const pageAt = (u: number): string => {
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < u * total) lo = mid + 1;
      else hi = mid;
    }
    return PAGES[lo]!;
  };
  return (eventTime) => {
    const kind = random();
    return {
      user_id: `u${String(Math.floor(random() * 5000)).padStart(4, '0')}`,
      page_id: pageAt(random()),
      event_type: kind < 0.85 ? 'view' : kind < 0.97 ? 'click' : 'purchase',
      event_time: eventTime,
    };
  };
}
