import { describe, expect, it } from 'vitest';
import { nextDue, parseSchedule, type Schedule } from '../../../src/functions/triggers/schedule-expression.js';
import { throwsWith } from '../storage/helpers.js';

const at = (iso: string): number => Date.parse(iso);
const next = (expression: string, after: string): string | undefined => {
  const s = parseSchedule(expression);
  const t = nextDue(s, at(after), 0);
  return t === undefined ? undefined : new Date(t).toISOString();
};

// Times below were worked out by hand from a calendar: 2026-12-01 is a Tuesday, 2028 is a leap year.
describe('cron expressions (UTC)', () => {
  it('steps a minute field', () => {
    expect(next('*/15 * * * *', '2026-12-01T10:07:30Z')).toBe('2026-12-01T10:15:00.000Z');
    expect(next('*/15 * * * *', '2026-12-01T10:45:00Z')).toBe('2026-12-01T11:00:00.000Z');
  });

  it('is strictly after the time given, even on a matching minute', () => {
    expect(next('0 * * * *', '2026-12-01T10:00:00Z')).toBe('2026-12-01T11:00:00.000Z');
  });

  it('skips the weekend for a weekday range', () => {
    expect(next('0 9 * * 1-5', '2026-12-04T09:00:00Z')).toBe('2026-12-07T09:00:00.000Z'); // Friday -> Monday
    expect(next('0 9 * * MON-FRI', '2026-12-01T08:59:59Z')).toBe('2026-12-01T09:00:00.000Z');
  });

  it('reads Sunday as 0 or 7', () => {
    expect(next('0 0 * * 7', '2026-12-01T00:00:00Z')).toBe('2026-12-06T00:00:00.000Z');
    expect(next('0 0 * * 0', '2026-12-01T00:00:00Z')).toBe('2026-12-06T00:00:00.000Z');
  });

  it('runs on either day field when both are restricted, as cron does', () => {
    expect(next('0 0 13 * 5', '2026-12-01T00:00:00Z')).toBe('2026-12-04T00:00:00.000Z'); // a Friday before the 13th
    expect(next('0 0 13 * 5', '2026-12-11T00:00:00Z')).toBe('2026-12-13T00:00:00.000Z'); // the 13th, a Sunday
  });

  it('crosses months and years, and finds a leap day', () => {
    expect(next('0 12 1 JAN,jul *', '2026-12-01T00:00:00Z')).toBe('2027-01-01T12:00:00.000Z');
    expect(next('0 0 1 1 *', '2026-12-31T23:59:30Z')).toBe('2027-01-01T00:00:00.000Z');
    expect(next('30 2 29 2 *', '2026-12-01T00:00:00Z')).toBe('2028-02-29T02:30:00.000Z');
    expect(next('0 0 31 * *', '2026-11-15T00:00:00Z')).toBe('2026-12-31T00:00:00.000Z'); // November has no 31st
  });

  it('takes ranges with steps, and a start with a step alone', () => {
    expect(next('5-10/2 * * * *', '2026-12-01T10:09:00Z')).toBe('2026-12-01T11:05:00.000Z'); // 5, 7, 9
    expect(next('5/20 * * * *', '2026-12-01T10:46:00Z')).toBe('2026-12-01T11:05:00.000Z'); // 5, 25, 45
    expect(next('0 22-23,1 * * *', '2026-12-01T23:00:00Z')).toBe('2026-12-02T01:00:00.000Z');
  });

  it('refuses what is not a schedule, saying why', () => {
    throwsWith(() => parseSchedule('61 * * * *'), 'INVALID_ARGUMENT', /minute field takes 0-59, got '61'/);
    throwsWith(() => parseSchedule('* * * *'), 'INVALID_ARGUMENT', /5 fields, this has 4/);
    throwsWith(() => parseSchedule('0 0 31 2 *'), 'INVALID_ARGUMENT', /no date ever matches/);
    throwsWith(() => parseSchedule('5-1 * * * *'), 'INVALID_ARGUMENT', /runs backwards/);
    throwsWith(() => parseSchedule('*/0 * * * *'), 'INVALID_ARGUMENT', /positive integer, got '0'/);
    throwsWith(() => parseSchedule('0 0 * FOO *'), 'INVALID_ARGUMENT', /month field takes 1-12 or JAN-DEC, got 'FOO'/);
    throwsWith(() => parseSchedule('1,,2 * * * *'), 'INVALID_ARGUMENT', /malformed item/);
  });
});

describe('rates', () => {
  it('parses seconds, minutes, hours and days', () => {
    const period = (e: string): number => (parseSchedule(e) as Extract<Schedule, { kind: 'rate' }>).periodMs;
    expect(period('every 30s')).toBe(30_000);
    expect(period('every 1m')).toBe(60_000);
    expect(period('every 2h')).toBe(7_200_000);
    expect(period('every 1d')).toBe(86_400_000);
  });

  it('falls at the anchor plus whole periods', () => {
    const s = parseSchedule('every 1m');
    const anchor = at('2026-12-01T10:00:20Z');
    expect(nextDue(s, anchor, anchor)).toBe(anchor + 60_000);
    expect(nextDue(s, anchor + 90_000, anchor)).toBe(anchor + 120_000);
    expect(nextDue(s, anchor + 120_000, anchor)).toBe(anchor + 180_000);
  });

  it('refuses a period under a second or without a unit', () => {
    throwsWith(() => parseSchedule('every 0s'), 'INVALID_ARGUMENT', /at least 1s/);
    throwsWith(() => parseSchedule('every 5'), 'INVALID_ARGUMENT', /whole number followed by s, m, h or d/);
    throwsWith(() => parseSchedule('every 500ms'), 'INVALID_ARGUMENT', /whole number followed by s, m, h or d/);
  });
});
