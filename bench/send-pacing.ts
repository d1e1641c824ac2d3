/**
 * How an open-loop sender of the serving benchmark waits for its next
 * intended send (serving-load-gen.ts's Gets, wakeup-probe.ts's datagrams).
 *
 * Spinning (the default): a timer for all but the last SPIN_MS, then turns
 * of the event loop (setImmediate) until the time has come. Each turn also
 * polls the sockets, so answers are read as they arrive; the sender holds a
 * core while it spins. This is YCSB's `spin.sleep=true` (ClientThread's
 * sleepUntil loops on System.nanoTime instead of parking), the way to send
 * on time where the sleep is coarse.
 *
 * By timer: setTimeout, which Node keeps in whole milliseconds, so a send
 * leaves up to a millisecond or two late and the sender's own idle wake-up
 * lands in every latency timed from the intended send. Measured on the
 * benchmark's EPYC machine (bench/README.md, serving, 3 December 08:06-):
 * with timers the Gets' p50 was 0.9-1.3 ms and their p99 3.9-15.2 ms at
 * 1,000/s, the same for the RPC floor answering from a Map; spinning, p50
 * 0.07-0.21 ms and p99 1.9-2.9 ms at 1,000 and 8,000/s for both, the sends
 * late at p99 0.03-0.6 ms against 1.4-3.6. Kept for comparison
 * (serving-read-run.ts --timer-sends).
 */

/** With less than this left before a send, a spinning sender stops sleeping and turns the loop. */
export const SPIN_MS = 2;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Resolves at or soon after performance.now() reaches `at`. */
export async function waitUntil(at: number, spin: boolean): Promise<void> {
  if (!spin) {
    const left = at - performance.now();
    if (left > 0) await sleep(left);
    return;
  }
  for (;;) {
    const left = at - performance.now();
    if (left <= 0) return;
    if (left > SPIN_MS) await sleep(left - SPIN_MS);
    else await turn();
  }
}
