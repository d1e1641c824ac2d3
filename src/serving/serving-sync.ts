/**
 * Keeps a serving node's versions in line with what the master says to
 * serve (the answer to each heartbeat: per view, its current version and
 * the previous ones to keep, with their folders in the view store):
 * - loads what the node lacks, the current version first, one version at a
 *   time (copy, verify, open: version-loader.ts), and swaps to the current
 *   one as soon as it is loaded (VersionSet.setCurrent);
 * - refuses a version whose files fail their checks, says so in the next
 *   heartbeats, tries it again after a while, and meanwhile keeps serving
 *   what it served (a node never drops its current version before the
 *   new one is loaded);
 * - swaps back at once to a version it still holds (a rollback);
 * - lets go of the versions and views the master no longer lists, and
 *   removes their local copies once their last request has ended.
 *
 * Also restores, at start, whatever complete local copies an earlier run
 * left, so a restarted node serves at once, before it hears from the master.
 *
 * One pass runs at a time; an assignment that arrives during a pass is
 * taken up between two loads, so a long copy never holds up a rollback for
 * more than that copy.
 */
import { rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../common/clock.js';
import { errorMessage } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { LoadedVersion as LoadedVersionId, ServedView } from '../common/view-shapes.js';
import type { BlockCache } from '../view/block-cache.js';
import { writeFileAtomic } from '../view/durable-files.js';
import { CURRENT_FILE, listVersions, listViews, readCurrent, removeLeftovers, versionDir, versionDirName, viewDir } from '../view/view-version-dir.js';
import type { LoadedVersion } from './loaded-version.js';
import type { SpeedPlacement } from './speed-reads.js';
import { loadFromStore, openLocal, type VersionSource } from './version-loader.js';
import type { VersionSet } from './version-set.js';

/** How long a refused version is left alone before it is tried again. */
export const DEFAULT_REFUSAL_RETRY_MS = 30_000;

export interface ServingSyncDeps {
  readonly versions: VersionSet;
  /** The node's folder of local copies. */
  readonly localRoot: string;
  readonly cache: BlockCache;
  readonly clock: Clock;
  readonly log: Logger;
  /** Default DEFAULT_REFUSAL_RETRY_MS. */
  readonly refusalRetryMs?: number;
  /** Called after each change of what the node holds or serves (to heartbeat at once). */
  readonly onChange?: () => void;
  /** Loads a version from the store; default loadFromStore (tests inject failures). */
  readonly load?: (src: VersionSource, signal: AbortSignal) => Promise<LoadedVersion>;
}

interface Refusal {
  readonly reason: string;
  readonly at: number;
}

const key = (view: string, version: number): string => `${view}/v${version}`;

export class ServingSync {
  private readonly log: Logger;
  private readonly refused = new Map<string, Refusal & LoadedVersionId>();
  private pending: readonly ServedView[] | undefined;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly removals = new Set<Promise<void>>();
  /** Per view, where its speed side runs, as the master last said (taken at once, before any load). */
  private readonly placements = new Map<string, SpeedPlacement>();

  constructor(private readonly deps: ServingSyncDeps) {
    this.log = deps.log.child({ component: 'serving-sync' });
  }

  /**
   * Serves the complete local copies an earlier run left: each is verified
   * (a damaged one is removed, to be copied again when the master lists
   * it), and each view's local CURRENT is made current again (or its
   * newest copy). Called once at the node's start, before it takes requests.
   */
  async restore(): Promise<void> {
    const { localRoot, versions, cache } = this.deps;
    for (const view of await listViews(localRoot)) {
      await removeLeftovers(localRoot, view);
      for (const version of await listVersions(localRoot, view)) {
        try {
          versions.add(await openLocal(localRoot, view, version, cache));
        } catch (err) {
          this.log.warn({ view, version, err }, 'local copy failed its check: removed, to be copied again');
          await rm(versionDir(localRoot, view, version), { recursive: true, force: true });
        }
      }
      const held = versions.versionsOf(view);
      if (held.length === 0) continue;
      const current = await readCurrent(localRoot, view).catch(() => undefined);
      const chosen = current !== undefined && held.includes(current) ? current : held[0]!;
      versions.setCurrent(view, chosen);
      this.log.info({ view, version: chosen, held }, 'serving local copies again');
    }
  }

  /**
   * Takes the master's latest word on what to serve. Called after each
   * heartbeat; returns at once (the work runs in the background, one pass
   * at a time). Safe to call any number of times: only the latest counts.
   */
  offer(assignment: readonly ServedView[]): void {
    if (this.abort.signal.aborted) return;
    // Speed locations change as speed processes come and go: taken now, not after a pass of loads.
    this.placements.clear();
    for (const sv of assignment) this.placements.set(sv.view, { speed: sv.speed ?? [], windowSizeMs: sv.windowSizeMs ?? 0 });
    this.pending = assignment;
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
  }

  /**
   * Where the speed side of `view` runs, as the master last said; undefined
   * before the first word on it (a restarted node answers batch-only until
   * its first heartbeat is answered). Called once per read.
   */
  placement(view: string): SpeedPlacement | undefined {
    return this.placements.get(view);
  }

  /** Resolves once no pass is running (tests wait on it). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /** The versions refused and still listed by the master, and why, for the heartbeat. */
  refusals(): { refused: LoadedVersionId[]; reason: string } {
    const list = [...this.refused.values()].sort((a, b) => (a.view < b.view ? -1 : a.view > b.view ? 1 : a.version - b.version));
    return {
      refused: list.map((r) => ({ view: r.view, version: r.version })),
      reason: list.map((r) => `${r.view} v${r.version}: ${r.reason}`).join('; '),
    };
  }

  /** Stops: aborts a copy in progress and waits for the pass and for local removals to end. Safe to repeat. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.pending = undefined;
    await this.idle();
    await Promise.all([...this.removals]);
  }

  private async drain(): Promise<void> {
    while (this.pending !== undefined && !this.abort.signal.aborted) {
      const assignment = this.pending;
      this.pending = undefined;
      try {
        await this.apply(assignment);
      } catch (err) {
        this.log.warn({ err }, 'could not apply what the master says to serve; trying again at the next heartbeat');
      }
    }
  }

  /** One pass over an assignment; returns early when a newer one arrives. */
  private async apply(assignment: readonly ServedView[]): Promise<void> {
    const { versions } = this.deps;
    const listed = new Set(assignment.map((v) => v.view));
    for (const view of versions.viewNames()) {
      if (!listed.has(view)) this.dropView(view);
    }
    for (const key of [...this.refused.keys()]) {
      const r = this.refused.get(key)!;
      if (!assignment.some((v) => v.view === r.view && v.versions.some((x) => x.version === r.version))) this.refused.delete(key);
    }
    for (const sv of assignment) {
      if (this.pending !== undefined || this.abort.signal.aborted) return;
      await this.applyView(sv);
    }
  }

  private async applyView(sv: ServedView): Promise<void> {
    const { versions, clock } = this.deps;
    const retryMs = this.deps.refusalRetryMs ?? DEFAULT_REFUSAL_RETRY_MS;
    // The master's current version first: the swap waits for nothing else.
    for (const target of sv.versions) {
      if (versions.has(sv.view, target.version)) {
        if (target.version === sv.current) await this.swap(sv.view, sv.current);
        continue;
      }
      const refusal = this.refused.get(key(sv.view, target.version));
      if (refusal !== undefined && clock.now() - refusal.at < retryMs) continue;
      if (this.pending !== undefined || this.abort.signal.aborted) return;
      const vlog = this.log.child({ view: sv.view, version: target.version });
      let loaded: LoadedVersion;
      try {
        const src: VersionSource = { view: sv.view, version: target.version, dir: target.dir, merge: sv.merge };
        loaded = await (this.deps.load ?? ((s, signal) => loadFromStore(s, { localRoot: this.deps.localRoot, cache: this.deps.cache, signal })))(src, this.abort.signal);
      } catch (err) {
        if (this.abort.signal.aborted) return;
        const reason = errorMessage(err);
        this.refused.set(key(sv.view, target.version), { view: sv.view, version: target.version, reason, at: clock.now() });
        const serving = versions.current(sv.view)?.version;
        vlog.error({ err, serving }, serving === undefined ? 'view version refused' : 'view version refused: the version served so far keeps serving');
        this.deps.onChange?.();
        continue;
      }
      this.refused.delete(key(sv.view, target.version));
      versions.add(loaded);
      vlog.info({ keys: loaded.manifest.keys, bytes: loaded.manifest.bytes, cut: loaded.manifest.cut }, 'view version loaded and verified');
      if (target.version === sv.current || versions.current(sv.view) === undefined) await this.swap(sv.view, target.version);
      this.deps.onChange?.();
    }
    if (versions.current(sv.view) === undefined) {
      // Nothing is current yet, but something is held (the current one was refused): serve the newest listed.
      const held = sv.versions.find((x) => versions.has(sv.view, x.version));
      if (held !== undefined) await this.swap(sv.view, held.version);
    }
    const keep = new Set(sv.versions.map((x) => x.version));
    const current = versions.current(sv.view)?.version;
    for (const v of versions.versionsOf(sv.view)) {
      if (!keep.has(v) && v !== current) this.dropVersion(sv.view, v);
    }
  }

  /** Makes a held version current (if it is not), and records it in the local CURRENT for a restart. */
  private async swap(view: string, version: number): Promise<void> {
    const { versions, localRoot } = this.deps;
    if (versions.current(view)?.version === version) return;
    const before = versions.setCurrent(view, version);
    this.log.info({ view, version, before: before?.version }, 'now serving');
    this.deps.onChange?.();
    try {
      await writeFileAtomic(join(viewDir(localRoot, view), CURRENT_FILE), Buffer.from(`${versionDirName(version)}\n`));
    } catch (err) {
      this.log.warn({ view, version, err }, 'could not record the current version locally (a restart would serve the newest copy)');
    }
  }

  /** Lets a version go; removes its local copy once its last request has ended (unless it is held again by then). */
  private dropVersion(view: string, version: number): void {
    const { versions } = this.deps;
    this.log.info({ view, version }, 'view version no longer served');
    this.track(versions.remove(view, version).then(() => this.removeCopy(view, version)));
    this.deps.onChange?.();
  }

  /** Lets a whole view go (the master no longer lists it), and then its local copies. */
  private dropView(view: string): void {
    const { versions, localRoot } = this.deps;
    const held = versions.versionsOf(view);
    this.log.info({ view, versions: held }, 'view no longer served');
    this.track(versions.removeView(view).then(async () => {
      for (const version of held) await this.removeCopy(view, version);
      if (versions.versionsOf(view).length > 0) return;
      await rm(join(viewDir(localRoot, view), CURRENT_FILE), { force: true });
      // Left when a copy is being made again (the view came back): ENOTEMPTY.
      await rmdir(viewDir(localRoot, view)).catch(() => undefined);
    }));
    this.deps.onChange?.();
  }

  private async removeCopy(view: string, version: number): Promise<void> {
    if (this.deps.versions.has(view, version)) return;
    await rm(versionDir(this.deps.localRoot, view, version), { recursive: true, force: true });
  }

  private track(p: Promise<unknown>): void {
    const done = p.then(() => undefined, (err: unknown) => {
      this.log.warn({ err }, 'could not remove a local copy');
    });
    this.removals.add(done);
    void done.finally(() => this.removals.delete(done));
  }
}
