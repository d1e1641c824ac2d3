/**
 * The task-attempt lifecycle as an explicit table, in the manner of Hadoop's
 * TaskAttemptImpl state machine. Each (state, event) pair either moves the
 * attempt to a new state or is listed as ignored, with the reason: reports
 * arrive late, twice, or after the master has already given up on an attempt.
 *
 *   RUNNING --commit granted--> COMMITTING --succeeded--> SUCCEEDED
 *   RUNNING --succeeded (map)--> SUCCEEDED
 *   RUNNING | COMMITTING --failed--> FAILED
 *   RUNNING | COMMITTING --killed | lost--> KILLED
 *
 * An attempt that ends without success also gets a cause (attempt-end.ts),
 * which picks the event: `failed` for a failure of its own (cause FAILED),
 * `killed` for every other cause (CRASHED_WORKER, WORKER_LOST, FETCH_FAILED,
 * SUPERSEDED, KILLED, LAUNCH_LOST). The cause, not the state, says which
 * limit of its task the ending counts toward.
 */
import type { AttemptState } from './types.js';

export type AttemptEvent = 'commit' | 'succeeded' | 'failed' | 'killed';

type Outcome = { readonly to: AttemptState } | { readonly ignore: string };

const TABLE: Record<AttemptState, Record<AttemptEvent, Outcome>> = {
  RUNNING: {
    commit: { to: 'COMMITTING' },
    succeeded: { to: 'SUCCEEDED' },
    failed: { to: 'FAILED' },
    killed: { to: 'KILLED' },
  },
  COMMITTING: {
    commit: { ignore: 'commit asked twice by the same attempt: already granted' },
    succeeded: { to: 'SUCCEEDED' },
    failed: { to: 'FAILED' },
    killed: { to: 'KILLED' },
  },
  SUCCEEDED: {
    commit: { ignore: 'attempt already succeeded' },
    succeeded: { ignore: 'duplicate success report' },
    failed: { ignore: 'a failure reported after success (e.g. the container died while exiting) changes nothing' },
    killed: { ignore: 'kill of a finished attempt: its output stands' },
  },
  FAILED: {
    commit: { ignore: 'attempt already failed' },
    succeeded: { ignore: 'late success of an attempt the master counted as failed' },
    failed: { ignore: 'duplicate failure report' },
    killed: { ignore: 'kill of an attempt that already failed' },
  },
  KILLED: {
    commit: { ignore: 'attempt was killed (its task succeeded elsewhere, its job ended, or its worker was lost)' },
    succeeded: { ignore: 'late success of a killed attempt: another attempt owns the task' },
    failed: { ignore: 'the failure of an attempt already killed does not count against its task' },
    killed: { ignore: 'duplicate kill' },
  },
};

/** The next state, or null with the reason the event is ignored. */
export function transition(state: AttemptState, event: AttemptEvent): { to: AttemptState } | { ignore: string } {
  return TABLE[state][event];
}

export function isLive(state: AttemptState): boolean {
  return state === 'RUNNING' || state === 'COMMITTING';
}
