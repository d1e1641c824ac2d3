/**
 * An open-loop appender: sends events at a fixed rate on a schedule that does
 * not wait for the system under test (event i is due at startMs + i / rate,
 * however slow the previous sends were), so that a stall shows up as events
 * sent late rather than as fewer events asked for (coordinated omission).
 * It measures how far behind schedule it falls: at every tick, how late the
 * oldest event due and not yet written is. A generator that cannot keep its
 * rate says so (keptRate false, and by how much) rather than silently sending
 * slower; a single stall it recovers from (a pause of the machine) is not
 * that, but shows in maxBehindMs.
 *
 * The clock and the sleep are injected, so that tests drive it with a manual
 * clock; the benchmark's appender process (appender.ts) gives it the real ones.
 */
import type { YsbEvent } from './ysb-generator.js';

/** Where events go: a Producer satisfies it (write without a promise per record, ready for room, flush for durability). */
export interface EventSink {
  write(record: YsbEvent): void;
  ready(): Promise<void>;
  flush(): Promise<void>;
}

/** What makes the events: a YsbGenerator satisfies it. */
export interface EventSource {
  next(): YsbEvent;
  /** Epoch ms at which event i is due. */
  scheduledAt(i: number): number;
}

export interface OpenLoopClock {
  /** Epoch milliseconds, fractional allowed. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface OpenLoopOptions {
  /** Events per second. */
  readonly rate: number;
  /** Events to send in all (rate x seconds). */
  readonly events: number;
  /** Epoch ms of event 0's due time (the source's schedule must agree). */
  readonly startMs: number;
  /** The most the generator may fall behind schedule (99th percentile, and at the end) and still be said to keep its rate. Default 1,000 ms. */
  readonly toleranceMs?: number;
  /** Called about once a second of schedule with the progress so far. */
  readonly onProgress?: (p: { readonly sent: number; readonly behindMs: number }) => void;
  /** Stops early (the stats then say how many were sent). */
  readonly signal?: AbortSignal;
}

export interface OpenLoopStats {
  readonly rate: number;
  readonly sent: number;
  /** Epoch ms when the last event was written (handed to the sink). */
  readonly lastWriteMs: number;
  /** Epoch ms when the sink's flush resolved: every event durable. */
  readonly durableMs: number;
  /** (sent - 1) / (lastWrite - start): the rate actually achieved (the rate asked when on schedule). */
  readonly achievedRate: number;
  /** The latest any due event was written, past its due time (ms): a stall shows here. */
  readonly maxBehindMs: number;
  /** 99th percentile of the per-tick lateness (ms). */
  readonly p99BehindMs: number;
  /** How late the last event was written (ms). */
  readonly endBehindMs: number;
  /**
   * Whether it kept the rate: every event sent, and both the 99th percentile
   * of the lateness and the last event's lateness within the tolerance (it
   * was not falling further and further behind).
   */
  readonly keptRate: boolean;
  readonly toleranceMs: number;
}

/** Events written between two checks for room in the sink. */
const READY_EVERY = 1024;

/** Runs the schedule to its end (or the signal), then flushes the sink. */
export async function runOpenLoop(source: EventSource, sink: EventSink, clock: OpenLoopClock, options: OpenLoopOptions): Promise<OpenLoopStats> {
  const { rate, events, startMs } = options;
  if (!(rate > 0) || !Number.isSafeInteger(events) || events < 0) throw new Error(`Expected a positive rate and a whole number of events, got ${rate}/s and ${events}`);
  const toleranceMs = options.toleranceMs ?? 1000;
  const lateness: number[] = [];
  let maxBehindMs = 0;
  let sent = 0;
  let lastWriteMs = startMs;
  let endBehindMs = 0;
  let nextProgress = startMs + 1000;
  const wait = startMs - clock.now();
  if (wait > 0) await clock.sleep(wait);
  while (sent < events && !options.signal?.aborted) {
    const now = clock.now();
    // Every event whose due time has come: [sent, due).
    const due = Math.min(events, Math.floor(((now - startMs) * rate) / 1000) + 1);
    if (sent < due) {
      const behind = Math.max(0, now - source.scheduledAt(sent));
      lateness.push(behind);
      if (behind > maxBehindMs) maxBehindMs = behind;
      while (sent < due) {
        sink.write(source.next());
        sent++;
        if (sent % READY_EVERY === 0) await sink.ready();
      }
      lastWriteMs = clock.now();
      // What was written late counts too: a ready() that waited for room.
      const late = lastWriteMs - source.scheduledAt(sent - 1);
      endBehindMs = Math.max(0, late);
      if (late > maxBehindMs) maxBehindMs = late;
    }
    if (now >= nextProgress) {
      options.onProgress?.({ sent, behindMs: sent < events ? Math.max(0, clock.now() - source.scheduledAt(sent)) : 0 });
      nextProgress += 1000;
    }
    // One tick (a millisecond): at high rates each tick writes a run of
    // events; spinning instead would take a core from the system under test.
    await clock.sleep(1);
  }
  await sink.flush();
  const durableMs = clock.now();
  lateness.sort((a, b) => a - b);
  const p99BehindMs = lateness.length === 0 ? 0 : lateness[Math.min(lateness.length - 1, Math.floor(lateness.length * 0.99))]!;
  // Event n - 1 is due (n - 1) / rate after the start: the achieved rate is measured over the same span.
  const span = (lastWriteMs - startMs) / 1000;
  return {
    rate, sent, lastWriteMs, durableMs,
    achievedRate: sent <= 1 ? rate : span > 0 ? (sent - 1) / span : Number.POSITIVE_INFINITY,
    maxBehindMs, p99BehindMs, endBehindMs, keptRate: sent === events && p99BehindMs <= toleranceMs && endBehindMs <= toleranceMs, toleranceMs,
  };
}

/** The real clock: Date.now() with sub-millisecond precision, and setTimeout / setImmediate. */
export const realClock: OpenLoopClock = {
  now: () => performance.timeOrigin + performance.now(),
  sleep: (ms) => new Promise<void>((r) => (ms > 0 ? setTimeout(r, ms) : setImmediate(r))),
};
