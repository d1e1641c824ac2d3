/**
 * The `view:NAME` trigger: one event per version of the view published by a
 * build, `{ view, version, cut, added, removed, changed, previousVersion }`,
 * the counts of keys against the version it replaced (previousVersion; 0
 * for the first, all of whose keys are added). A rollback publishes nothing
 * new and makes no event.
 *
 * The trigger saves the last version it delivered. At its start (a deploy,
 * or a master restart) a view whose current version is newer than that gets
 * one event for the current version, counted against the saved one (or the
 * newest kept version before it, if that one was retired): versions
 * published while the master was down, or between the publish and the
 * delivery, are not lost, though several missed ones make one event. A new
 * function starts at the view's current version (no event for it).
 */
import { unlessAborted, type Trigger, type TriggerDeps } from './trigger.js';

/** A published version, as the view trigger's event carries it. */
export interface ViewPublished {
  readonly view: string;
  readonly version: number;
  readonly cut: readonly number[];
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
  /** The version the counts are against (0: none, every key is added). */
  readonly previousVersion: number;
}

/** What the trigger needs of the master's view service (src/master/view-publish-feed.ts). */
export interface ViewPublishFeed {
  /** Tells `listener` of each version of `view` published by a build from now on; returns the unsubscribe. */
  subscribe(view: string, listener: (published: ViewPublished) => void): () => void;
  /** The view's current version (0: none, or no such view). */
  currentVersion(view: string): Promise<number>;
  /** The event of version `version` counted against `since` (or the newest kept version before it). */
  describe(view: string, version: number, since: number): Promise<ViewPublished>;
}

interface ViewTriggerState {
  readonly view: string;
  /** The newest version whose event has settled (0: none). */
  lastVersion: number;
}

export class ViewTrigger implements Trigger {
  private readonly abort = new AbortController();
  private state: ViewTriggerState | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Opens the queue once the state is loaded (a publish heard before waits for it). */
  private ready!: () => void;
  /** Events waiting their turn: delivered one at a time, in version order. */
  private queue = new Promise<void>((resolve) => { this.ready = resolve; });

  constructor(private readonly deps: TriggerDeps & { readonly feed: ViewPublishFeed }, private readonly view: string) {}

  async start(): Promise<void> {
    const { feed } = this.deps;
    // Subscribed before the current version is read, so that a publish in between is not missed (a duplicate is skipped by version).
    this.unsubscribe = feed.subscribe(this.view, (p) => this.enqueue(async () => p));
    const saved = await this.deps.state.load() as ViewTriggerState | undefined;
    const current = await feed.currentVersion(this.view);
    if (saved?.view === this.view) {
      this.state = saved;
      if (current > saved.lastVersion) {
        this.deps.log.info({ view: this.view, version: current, lastDelivered: saved.lastVersion }, 'view published while the trigger was not running: one event for its current version');
        this.enqueue(() => feed.describe(this.view, current, saved.lastVersion));
      }
    } else {
      this.state = { view: this.view, lastVersion: current };
      await this.deps.state.save(this.state);
      this.deps.log.info({ view: this.view, version: current }, 'view trigger starts at the current version');
    }
    this.ready();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.unsubscribe?.();
    this.ready();
    await this.queue;
  }

  /** Resolves once every event heard so far has settled and been recorded (tests wait on it). */
  async idle(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.queue;
      await seen;
    } while (seen !== this.queue);
  }

  private enqueue(event: () => Promise<ViewPublished>): void {
    this.queue = this.queue.then(async () => {
      const s = this.state;
      if (this.abort.signal.aborted || s === undefined) return;
      try {
        const p = await unlessAborted(event(), this.abort.signal);
        if (p === undefined || p.version <= s.lastVersion) return;
        const eventId = `${this.deps.functionName}:view:${this.view}:${p.version}`;
        const outcome = await unlessAborted(this.deps.invoker.deliver(this.deps.functionName, p, { eventId, source: 'view' }), this.abort.signal);
        if (outcome === undefined || outcome.status === 'function-deleted') return;
        if (outcome.status === 'dead-lettered') this.deps.log.warn({ eventId, attempts: outcome.attempts }, 'view event dead-lettered');
        s.lastVersion = p.version;
        await this.deps.state.save(s);
      } catch (err) {
        // Not recorded: the next start delivers the current version again.
        this.deps.log.warn({ err, view: this.view }, 'view event could not be delivered');
      }
    });
  }
}
