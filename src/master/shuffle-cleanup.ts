/**
 * The master's side of the nodes' shuffle services: at the end of each job,
 * every shuffle service a worker has registered with hears which jobs still
 * live, and removes the files of the others.
 *
 * The master tells them, not the workers: it is the one that knows when a job
 * ends, and it is up then, where a node's workers may all be dead or
 * restarting (a YARN NodeManager's auxiliary service likewise hears
 * stopApplication from the NodeManager, and Spark's external shuffle service
 * applicationRemoved from its Worker, not from the executors). The message is
 * the list of live jobs rather than "job X ended", so that a service that
 * could not be reached at one job's end, or that restarted, catches up at the
 * next: the rule is idempotent and a late or repeated call removes nothing
 * it should not (jobs numbered at or above nextJobNumber are never touched,
 * so a call overtaken by a newer job's first map cannot remove that job).
 */
import { errorMessage } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { ShuffleHostClient } from '../protocol/shuffle-rpc.js';

/** How long one service may take to answer before the master gives up on this round. */
const RETAIN_TIMEOUT_MS = 5_000;

export class ShuffleCleanup {
  private readonly services = new Map<string, ShuffleHostClient>();

  constructor(private readonly log: Logger) {}

  /** A worker registered with the shuffle service at `address`. Safe to repeat. */
  add(address: string): void {
    if (!this.services.has(address)) this.services.set(address, new ShuffleHostClient(address));
  }

  /**
   * A job ended: every known service keeps the files of `liveJobIds` and of
   * jobs numbered from `nextJobNumber` on, and removes the rest. Called by
   * the master once per job end; never throws (a service that does not
   * answer is logged, and told again at the next job end).
   */
  jobEnded(liveJobIds: readonly string[], nextJobNumber: number): void {
    for (const [address, client] of this.services) {
      client.retainJobs({ liveJobIds: [...liveJobIds], nextJobNumber }, RETAIN_TIMEOUT_MS).then(
        (r) => this.log.debug({ shuffleService: address, removed: r.removed }, 'shuffle service cleaned up'),
        (err: unknown) => this.log.warn({ shuffleService: address, err: errorMessage(err) }, 'could not tell a shuffle service which jobs live: it is told again at the next job end'),
      );
    }
  }

  close(): void {
    for (const client of this.services.values()) client.close();
    this.services.clear();
  }
}
