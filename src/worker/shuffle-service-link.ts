/**
 * A worker's attachment to its node's shuffle service (shuffle-service.ts):
 * the service names the folder the worker writes its map outputs into, and
 * the attachment's stream stays open while both live, so that the worker
 * knows at once when the service goes (its outputs could no longer be
 * served) and when it is back.
 */
import { access, constants } from 'node:fs/promises';
import { errorMessage, LaminateError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { ShuffleHostClient } from '../protocol/shuffle-rpc.js';

export class ShuffleServiceLink {
  private readonly client: ShuffleHostClient;
  private detach?: () => void;
  private dir = '';
  private up = false;
  private count = 0;

  /** `onLost` is called each time an attachment that was up ends without this side detaching. */
  constructor(readonly address: string, private readonly name: string, private readonly log: Logger, private readonly onLost: () => void) {
    this.client = new ShuffleHostClient(address);
  }

  /** Whether the service is attached now. */
  get attached(): boolean {
    return this.up;
  }

  /** Counts attachments: a registration made under one is stale once the count moves on. */
  get epoch(): number {
    return this.count;
  }

  /** The folder the service named; valid once attached. */
  get jobsDir(): string {
    return this.dir;
  }

  /**
   * Attaches, trying again with backoff (up to 5 s) until the service
   * answers or `stopped()` says to give up. Safe to call when attached
   * (returns at once).
   * @throws LaminateError FAILED_PRECONDITION when `failFast` and the worker
   *   cannot write the service's folder: they do not share a disk.
   */
  async attach(stopped: () => boolean, failFast: boolean): Promise<void> {
    for (let delay = 200; !this.up && !stopped(); delay = Math.min(delay * 2, 5_000)) {
      try {
        await this.tryAttach();
        return;
      } catch (err) {
        if (failFast && err instanceof LaminateError && err.code === 'FAILED_PRECONDITION') throw err;
        this.log.warn({ shuffleService: this.address, err: errorMessage(err), retryInMs: delay }, 'could not attach to the shuffle service');
        await new Promise((r) => setTimeout(r, delay).unref());
      }
    }
  }

  private tryAttach(): Promise<void> {
    return new Promise<void>((resolvePromise, reject) => {
      let attached = false;
      let gone = false;
      const lost = (): LaminateError => new LaminateError('UNAVAILABLE', `The shuffle service at ${this.address} ended the attachment before it was up`);
      const detach = this.client.attach({ name: this.name }, (a) => {
        if (attached) return;
        attached = true;
        access(a.jobsDir, constants.W_OK).then(() => {
          if (gone) {
            reject(lost());
            return;
          }
          this.dir = a.jobsDir;
          this.up = true;
          this.count++;
          this.log.info({ shuffleService: this.address, jobsDir: a.jobsDir }, 'attached to the shuffle service');
          resolvePromise();
        }, (err: unknown) => {
          detach();
          reject(new LaminateError('FAILED_PRECONDITION', `Expected to write map outputs into ${a.jobsDir}, where the shuffle service at ${this.address} keeps them, `
            + `but cannot (${errorMessage(err)}): a worker and its shuffle service must share a disk (run them on the same node)`));
        });
      }, (err) => {
        gone = true;
        if (!attached) {
          reject(err ?? lost());
          return;
        }
        if (!this.up || this.detach !== detach) return;
        this.up = false;
        this.log.warn({ shuffleService: this.address, err: err?.message }, 'the shuffle service went away');
        this.onLost();
      });
      this.detach = detach;
    });
  }

  /** Ends the attachment (the worker is stopping); onLost is not called for it. Safe to call twice. */
  close(): void {
    this.up = false;
    this.detach?.();
    this.client.close();
  }
}
