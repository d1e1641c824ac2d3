import { describe, expect, it } from 'vitest';
import { WatermarkTracker } from '../../../src/speed/watermark.js';
import { seededRandom } from '../../support/seeded-random.js';

describe('WatermarkTracker', () => {
  it('is the least largest event time over active partitions, minus lateness, never going back', () => {
    const random = seededRandom(9);
    const idle = 1000;
    const lateness = 250;
    const w = new WatermarkTracker(lateness, idle);
    const seen = new Map<number, { max: number; at: number }>();
    let now = 0;
    let last: number | undefined;
    for (let i = 0; i < 2000; i++) {
      now += Math.floor(random() * 200);
      const p = Math.floor(random() * 4);
      // Partition 3 goes quiet after a while: it must stop holding the watermark back.
      if (p === 3 && i > 500) continue;
      const t = 1_000_000 + i * 10 - Math.floor(random() * 500) - (p === 2 ? 300 : 0);
      w.observe(p, t, now);
      const s = seen.get(p);
      seen.set(p, { max: s === undefined ? t : Math.max(s.max, t), at: now });
      const active = [...seen.values()].filter((x) => now - x.at <= idle).map((x) => x.max);
      const computed = (active.length > 0 ? Math.min(...active) : Math.max(...[...seen.values()].map((x) => x.max))) - lateness;
      const expected = last === undefined ? computed : Math.max(last, computed);
      expect(w.watermark(now)).toBe(expected);
      last = expected;
    }
    expect(last).toBeGreaterThan(seen.get(3)!.max); // the idle partition no longer holds it back
  });

  it('is undefined before any event time, saves and restores a partition, and when all are idle uses the largest seen', () => {
    const w = new WatermarkTracker(0, 100);
    expect(w.watermark(0)).toBeUndefined();
    w.observe(0, 50, 0);
    w.observe(1, 80, 0);
    expect(w.watermark(10)).toBe(50);
    expect(w.watermark(1000)).toBe(80);
    const saved = w.state(1);
    const r = new WatermarkTracker(0, 100);
    r.restore(1, saved);
    expect(r.state(1)).toEqual({ maxEventTime: 80, lastRecordAt: 0 });
    expect(r.watermark(5)).toBe(80);
    r.remove(1);
    expect(r.state(1)).toEqual({ maxEventTime: undefined, lastRecordAt: 0 });
  });
});
