/**
 * Schedule expressions of `schedule:` triggers, parsed and stepped without a
 * dependency: rates (`every 30s`, `every 1m`, `every 2h`, `every 1d`) and
 * five-field cron expressions in UTC (`minute hour day-of-month month
 * day-of-week`, as Vixie cron reads them: `*`, lists `a,b`, ranges `a-b`,
 * steps `* /n` and `a-b/n`, month names JAN-DEC, day names SUN-SAT, Sunday
 * as 0 or 7; when both day fields are restricted a day matching either runs,
 * as cron does).
 *
 * Pure: the trigger (schedule-trigger.ts) asks for the next due time after
 * the last one; everything here is a function of its arguments.
 */
import { LaminateError } from '../../common/errors.js';

export type Schedule =
  | { readonly kind: 'rate'; readonly expression: string; readonly periodMs: number }
  | { readonly kind: 'cron'; readonly expression: string; readonly fields: CronFields };

export interface CronFields {
  /** Allowed values of each field, as sets (day of week 0-6, Sunday 0). */
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: ReadonlySet<number>;
  /** Whether the day-of-month and day-of-week fields were `*` (cron's OR applies only when both are restricted). */
  readonly anyDayOfMonth: boolean;
  readonly anyDayOfWeek: boolean;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** The shortest rate: a schedule more frequent than this is a busy loop, not a schedule. */
export const MIN_RATE_MS = 1000;
/** How far ahead a cron expression must have a run (a leap day is at most 8 years away): past it, it never runs. */
const HORIZON_MS = 9 * 366 * 86_400_000;

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function invalid(expression: string, why: string): LaminateError {
  return new LaminateError('INVALID_ARGUMENT',
    `Expected a schedule like 'every 30s', 'every 1m', 'every 2h' or a five-field cron expression in UTC ('*/5 * * * *'), got '${expression}': ${why}`);
}

/**
 * Parses a schedule expression. Throws INVALID_ARGUMENT saying what is
 * wrong (and what was expected) for anything else, including a cron
 * expression that can never run (`0 0 31 2 *`).
 */
export function parseSchedule(expression: string): Schedule {
  const text = expression.trim();
  const rate = /^every\s+(\d+)\s*([smhd])$/i.exec(text);
  if (rate) {
    const periodMs = Number(rate[1]) * UNIT_MS[rate[2]!.toLowerCase()]!;
    if (!Number.isSafeInteger(periodMs) || periodMs < MIN_RATE_MS) throw invalid(expression, `the period must be at least ${MIN_RATE_MS / 1000}s`);
    return { kind: 'rate', expression: text, periodMs };
  }
  if (/^every\b/i.test(text)) throw invalid(expression, 'a rate is a whole number followed by s, m, h or d');
  const parts = text.split(/\s+/);
  if (parts.length !== 5) throw invalid(expression, `a cron expression has 5 fields, this has ${parts.length}`);
  const [mi, ho, dom, mo, dow] = parts as [string, string, string, string, string];
  const fields: CronFields = {
    minutes: parseField(expression, 'minute', mi, 0, 59),
    hours: parseField(expression, 'hour', ho, 0, 23),
    daysOfMonth: parseField(expression, 'day of month', dom, 1, 31),
    months: parseField(expression, 'month', mo, 1, 12, MONTH_NAMES, 1),
    // 7 is Sunday too; folded onto 0 below.
    daysOfWeek: new Set([...parseField(expression, 'day of week', dow, 0, 7, DAY_NAMES, 0)].map((d) => d % 7)),
    anyDayOfMonth: dom === '*' || dom === '?',
    anyDayOfWeek: dow === '*' || dow === '?',
  };
  const schedule: Schedule = { kind: 'cron', expression: text, fields };
  if (nextCron(fields, 0) === undefined) throw invalid(expression, 'no date ever matches it');
  return schedule;
}

function parseValue(expression: string, name: string, raw: string, min: number, max: number, names: readonly string[] | undefined, nameBase: number): number {
  const byName = names?.indexOf(raw.toUpperCase()) ?? -1;
  const v = byName >= 0 ? byName + nameBase : /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(v) || v < min || v > max) throw invalid(expression, `the ${name} field takes ${min}-${max}${names ? ` or ${names[0]}-${names[names.length - 1]}` : ''}, got '${raw}'`);
  return v;
}

function parseField(expression: string, name: string, field: string, min: number, max: number, names?: readonly string[], nameBase = 0): Set<number> {
  const out = new Set<number>();
  for (const item of field.split(',')) {
    const [range, stepText, extra] = item.split('/');
    if (range === undefined || range === '' || extra !== undefined) throw invalid(expression, `the ${name} field has an empty or malformed item '${item}'`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw invalid(expression, `a step in the ${name} field must be a positive integer, got '${stepText}'`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      lo = min;
      hi = max;
    } else {
      const dash = range.split('-');
      if (dash.length > 2) throw invalid(expression, `the ${name} field has a malformed range '${range}'`);
      lo = parseValue(expression, name, dash[0]!, min, max, names, nameBase);
      // `a/n` means from a to the field's end, as cron reads it.
      hi = dash.length === 2 ? parseValue(expression, name, dash[1]!, min, max, names, nameBase) : stepText !== undefined ? max : lo;
      if (hi < lo) throw invalid(expression, `the ${name} range '${range}' runs backwards`);
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function dayMatches(f: CronFields, d: Date): boolean {
  const dom = f.daysOfMonth.has(d.getUTCDate());
  const dow = f.daysOfWeek.has(d.getUTCDay());
  if (f.anyDayOfMonth && f.anyDayOfWeek) return true;
  if (f.anyDayOfMonth) return dow;
  if (f.anyDayOfWeek) return dom;
  return dom || dow;
}

/** The first minute strictly after `after` (ms since the epoch) that the fields match; undefined when none within ~9 years. */
export function nextCron(f: CronFields, after: number): number | undefined {
  // Start at the next whole minute; jump a month, day or hour at a time where those fields do not match.
  const d = new Date(Math.floor(after / 60_000) * 60_000 + 60_000);
  const limit = after + HORIZON_MS;
  while (d.getTime() <= limit) {
    if (!f.months.has(d.getUTCMonth() + 1)) {
      d.setUTCMonth(d.getUTCMonth() + 1, 1);
      d.setUTCHours(0, 0, 0, 0);
    } else if (!dayMatches(f, d)) {
      d.setUTCDate(d.getUTCDate() + 1);
      d.setUTCHours(0, 0, 0, 0);
    } else if (!f.hours.has(d.getUTCHours())) {
      d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
    } else if (!f.minutes.has(d.getUTCMinutes())) {
      d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
    } else {
      return d.getTime();
    }
  }
  return undefined;
}

/**
 * The first due time strictly after `after`. A rate is anchored at `anchor`
 * (when the schedule began: the trigger's first start), so that its runs fall
 * at anchor + k * period whatever the restarts.
 */
export function nextDue(s: Schedule, after: number, anchor: number): number | undefined {
  if (s.kind === 'cron') return nextCron(s.fields, after);
  const k = Math.floor((after - anchor) / s.periodMs) + 1;
  return anchor + Math.max(1, k) * s.periodMs;
}
