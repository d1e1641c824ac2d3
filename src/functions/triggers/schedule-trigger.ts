/**
 * The `schedule:` trigger: `every 30s`-style rates and five-field cron
 * expressions in UTC (schedule-expression.ts), driven by the master's clock,
 * as EventBridge Scheduler invokes a function. Event:
 * `{ type: 'schedule', scheduledAt, expression }`, id `FN:schedule:SCHEDULED_AT`.
 *
 * - A rate's runs fall at deploy + k * period (the anchor is saved, so a
 *   restart keeps the phase); a cron's at the minutes it names. Nothing runs
 *   at the deploy itself.
 * - Runs are not awaited one by one: a run that takes longer than the period
 *   overlaps the next (as EventBridge does); the function's concurrency limit
 *   is the brake.
 * - Restart: runs that fell due while the master was down are coalesced into
 *   one, run at once with the latest missed due time (Kubernetes CronJobs
 *   and anacron do the same; replaying a day of `every 1m` is never what one
 *   wants). A run whose delivery had not settled at the crash is delivered
 *   again with its event id.
 */
import { parseSchedule, nextDue, type Schedule } from './schedule-expression.js';
import { sleep, type Trigger, type TriggerDeps } from './trigger.js';

interface ScheduleTriggerState {
  readonly expression: string;
  /** When the schedule began (ms): the phase of a rate. */
  readonly anchor: number;
  /** The due time of the last run started (the anchor before the first). */
  lastDue: number;
  /** Due times of runs started and not yet settled. */
  inFlight: number[];
}

/** Longest single wait: the clock is looked at again at least this often (a clock set forward is noticed). */
const MAX_WAIT_MS = 60_000;
/** Most missed due times walked through at a restart, to find the latest (beyond: the latest walked is run). */
const MAX_MISSED_STEPS = 1_000_000;

export class ScheduleTrigger implements Trigger {
  private readonly abort = new AbortController();
  private readonly schedule: Schedule;
  private state: ScheduleTriggerState | undefined;
  private loop: Promise<void> | undefined;
  private readonly runs = new Set<Promise<void>>();

  /** @throws LaminateError INVALID_ARGUMENT for an expression that is not a schedule. */
  constructor(private readonly deps: TriggerDeps, expression: string) {
    this.schedule = parseSchedule(expression);
  }

  async start(): Promise<void> {
    const now = this.deps.clock.now();
    const saved = await this.deps.state.load() as ScheduleTriggerState | undefined;
    if (saved?.expression === this.schedule.expression) {
      this.state = saved;
      for (const due of [...saved.inFlight]) this.fire(due, false);
      const missed = this.latestDueUpTo(now);
      if (missed !== undefined) {
        this.deps.log.info({ expression: this.schedule.expression, scheduledAt: new Date(missed).toISOString() }, 'runs fell due while the master was down: running the latest once');
        this.fire(missed, true);
      }
    } else {
      this.state = { expression: this.schedule.expression, anchor: now, lastDue: now, inFlight: [] };
      this.deps.log.info({ expression: this.schedule.expression }, 'schedule trigger starts');
    }
    await this.deps.state.save(this.state);
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  /** The next time a run is due (ms), for status pages. */
  nextRunAt(): number | undefined {
    return this.state && nextDue(this.schedule, this.state.lastDue, this.state.anchor);
  }

  private latestDueUpTo(now: number): number | undefined {
    const s = this.state!;
    let latest: number | undefined;
    let t = nextDue(this.schedule, s.lastDue, s.anchor);
    for (let i = 0; t !== undefined && t <= now && i < MAX_MISSED_STEPS; i++) {
      latest = t;
      t = nextDue(this.schedule, t, s.anchor);
    }
    return latest;
  }

  /** Starts the run due at `due`; `record`: it is new, so lastDue and inFlight take it (saved by the caller or here). */
  private fire(due: number, record: boolean): void {
    const s = this.state!;
    if (record) {
      s.lastDue = due;
      s.inFlight.push(due);
    }
    const eventId = `${this.deps.functionName}:schedule:${due}`;
    const run = (async () => {
      try {
        const outcome = await this.deps.invoker.deliver(this.deps.functionName, { type: 'schedule', scheduledAt: due, expression: this.schedule.expression }, { eventId, source: 'schedule' });
        if (outcome.status === 'dead-lettered') this.deps.log.warn({ eventId, attempts: outcome.attempts }, 'scheduled run dead-lettered');
      } catch (err) {
        // Refused (the function is gone): nothing to retry; a stopped trigger does not record it.
        this.deps.log.warn({ err, eventId }, 'scheduled run could not be delivered');
      }
      if (this.abort.signal.aborted) return;
      s.inFlight = s.inFlight.filter((d) => d !== due);
      await this.deps.state.save(s).catch((err: unknown) => this.deps.log.error({ err }, 'could not save the schedule state'));
    })();
    this.runs.add(run);
    void run.finally(() => this.runs.delete(run));
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const s = this.state!;
    while (!signal.aborted) {
      const due = nextDue(this.schedule, s.lastDue, s.anchor);
      if (due === undefined) return;
      const wait = due - this.deps.clock.now();
      if (wait > 0) {
        if (!(await sleep(Math.min(wait, MAX_WAIT_MS), signal))) return;
        continue;
      }
      // Late (a busy loop, a clock set forward): this run once, with its due time; the ones before it are skipped.
      const latest = this.latestDueUpTo(this.deps.clock.now()) ?? due;
      this.fire(latest, true);
      await this.deps.state.save(s).catch((err: unknown) => this.deps.log.error({ err }, 'could not save the schedule state'));
    }
  }
}
