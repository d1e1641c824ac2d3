/**
 * The view service's publishes, as the functions' view triggers read them
 * (src/functions/triggers/view-trigger.ts): who listens to which view, and
 * the counts of keys added, removed and changed against the version a
 * publish replaced (one merge-join of the two versions' scans, view-diff.ts,
 * done once per publish and only for a view some function listens to).
 *
 * Who calls it: the view service, after each build's publish
 * (onVersionPublished, awaited before older versions are retired), and the
 * triggers.
 */
import type { Logger } from '../common/logger.js';
import type { ViewPublished, ViewPublishFeed } from '../functions/triggers/view-trigger.js';
import { diffVersions } from '../view/view-diff.js';
import { listVersions, readCurrent, readManifest } from '../view/view-version-dir.js';

export class ViewPublishes implements ViewPublishFeed {
  private readonly listeners = new Map<string, Set<(p: ViewPublished) => void>>();
  private readonly log: Logger;

  /** `root`: the view store (`<root>/<view>/v<N>/`). */
  constructor(private readonly root: string, logger: Logger) {
    this.log = logger.child({ component: 'view-publishes' });
  }

  subscribe(view: string, listener: (p: ViewPublished) => void): () => void {
    const set = this.listeners.get(view) ?? new Set();
    this.listeners.set(view, set);
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(view) === set) this.listeners.delete(view);
    };
  }

  async currentVersion(view: string): Promise<number> {
    try {
      return (await readCurrent(this.root, view)) ?? 0;
    } catch (err) {
      this.log.warn({ err, view }, 'could not read the current version of a view: taken as none');
      return 0;
    }
  }

  async describe(view: string, version: number, since: number): Promise<ViewPublished> {
    const manifest = await readManifest(this.root, view, version);
    // The version asked for, or the newest kept one before `version` if it was retired.
    const kept = (await listVersions(this.root, view)).filter((v) => v < version && v <= since);
    const against = since <= 0 ? 0 : kept.includes(since) ? since : (kept[kept.length - 1] ?? 0);
    const base = { view, version, cut: manifest.cut, previousVersion: against };
    if (against === 0) return { ...base, added: manifest.keys, removed: 0, changed: 0 };
    const diff = await diffVersions(this.root, view, against, version, 0);
    return { ...base, added: diff.added, removed: diff.removed, changed: diff.changed };
  }

  /** The view service's onVersionPublished: tells the view's listeners, if any. Never rejects for a listener's error. */
  async published(p: { readonly view: string; readonly version: number; readonly previous: number | undefined }): Promise<void> {
    const set = this.listeners.get(p.view);
    if (set === undefined || set.size === 0) return;
    const event = await this.describe(p.view, p.version, p.previous ?? 0);
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch (err) {
        this.log.error({ err, view: p.view }, 'a view publish listener threw');
      }
    }
  }
}
