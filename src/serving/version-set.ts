/**
 * The view versions a serving node serves, and the swap. For each view: the
 * loaded versions (the current one, and the previous ones kept for pinned
 * reads and instant rollback), and which of them is current.
 *
 * A request takes a lease on one version (acquire), reads only it, and
 * releases it at its end: a MultiGet or a Scan never mixes two versions.
 * Swapping is one assignment (setCurrent), so it never blocks a read: the
 * requests already running keep the version they hold, new ones get the
 * new one. A version the set lets go (remove) takes no new lease at once,
 * and its files close when its last lease ends (LoadedVersion.retire), as
 * LevelDB keeps a Version alive while an iterator refers to it.
 *
 * Everything here is synchronous except waiting for files to close, so
 * there is no moment between two steps of a swap that a request could see.
 */
import { LaminateError } from '../common/errors.js';
import type { LoadedVersion as LoadedVersionId } from '../common/view-shapes.js';
import type { LoadedVersion } from './loaded-version.js';

/** A request's hold on one version; release() once at its end (a second call is ignored). */
export interface Lease {
  readonly version: LoadedVersion;
  release(): void;
}

interface ViewVersions {
  /** Undefined until a version is made current. */
  current: LoadedVersion | undefined;
  readonly byNumber: Map<number, LoadedVersion>;
}

export class VersionSet {
  private readonly views = new Map<string, ViewVersions>();

  /**
   * A lease on `version` of `view`, or on its current version. Called once
   * per Get and per Scan; the caller releases it in a finally.
   *
   * @throws LaminateError NOT_FOUND for a view this node does not serve, or
   *   a version of it that it does not hold (messages that say which, and
   *   what it does serve: never to be confused with a key not found).
   */
  acquire(view: string, version?: number): Lease {
    const vv = this.views.get(view);
    const v = vv === undefined ? undefined : version === undefined ? vv.current : vv.byNumber.get(version);
    if (v === undefined) throw this.notFound(view, version);
    v.hold();
    let held = true;
    return {
      version: v,
      release: () => {
        if (!held) return;
        held = false;
        v.release();
      },
    };
  }

  private notFound(view: string, version: number | undefined): LaminateError {
    const vv = this.views.get(view);
    const ids = { view, ...(version !== undefined ? { version } : {}) };
    if (vv === undefined || vv.current === undefined) {
      const served = [...this.views].filter(([, x]) => x.current !== undefined).map(([name]) => `'${name}'`);
      return new LaminateError('NOT_FOUND', `View '${view}' is not served by this serving node (it serves ${served.length === 0 ? 'no view yet' : served.join(', ')})`, { ids });
    }
    const held = this.versionsOf(view).join(', ');
    return new LaminateError('NOT_FOUND', `View '${view}' has no version ${version} on this serving node (it holds versions ${held}; current ${vv.current.version})`, { ids });
  }

  /** Whether the set holds `version` of `view`. */
  has(view: string, version: number): boolean {
    return this.views.get(view)?.byNumber.has(version) ?? false;
  }

  /** The current version of `view`, if any. */
  current(view: string): LoadedVersion | undefined {
    return this.views.get(view)?.current;
  }

  /** The versions held of `view`, newest first. */
  versionsOf(view: string): number[] {
    return [...(this.views.get(view)?.byNumber.keys() ?? [])].sort((a, b) => b - a);
  }

  /** The views with at least one version held, sorted. */
  viewNames(): string[] {
    return [...this.views.keys()].sort();
  }

  /** Every version held: the node's acknowledgements to the master. */
  loaded(): LoadedVersionId[] {
    const out: LoadedVersionId[] = [];
    for (const name of this.viewNames()) for (const version of this.versionsOf(name)) out.push({ view: name, version });
    return out;
  }

  /**
   * Adds a loaded version (not current yet: setCurrent makes it so).
   * Called once per version a node has loaded and verified.
   *
   * @throws LaminateError ALREADY_EXISTS when the set holds that version.
   */
  add(v: LoadedVersion): void {
    let vv = this.views.get(v.view);
    if (vv === undefined) {
      vv = { current: undefined, byNumber: new Map() };
      this.views.set(v.view, vv);
    }
    if (vv.byNumber.has(v.version)) {
      throw new LaminateError('ALREADY_EXISTS', `Version ${v.version} of view '${v.view}' is loaded already`);
    }
    vv.byNumber.set(v.version, v);
  }

  /**
   * The swap: makes a held version current, for every request from now on.
   * Returns the version current before (still held; remove lets it go).
   * Safe to repeat.
   *
   * @throws LaminateError NOT_FOUND when the set does not hold the version.
   */
  setCurrent(view: string, version: number): LoadedVersion | undefined {
    const vv = this.views.get(view);
    const v = vv?.byNumber.get(version);
    if (vv === undefined || v === undefined) throw new LaminateError('NOT_FOUND', `Cannot make version ${version} of view '${view}' current: it is not loaded`);
    const before = vv.current;
    vv.current = v;
    return before;
  }

  /**
   * Lets a version go: no request gets it from now on, and its files close
   * once the requests holding it end (the promise resolves then). Safe to
   * repeat; a version not held resolves at once.
   *
   * @throws LaminateError FAILED_PRECONDITION for the current version while
   *   the view has others (make another current first; removeView drops all).
   */
  remove(view: string, version: number): Promise<void> {
    const vv = this.views.get(view);
    const v = vv?.byNumber.get(version);
    if (vv === undefined || v === undefined) return Promise.resolve();
    if (vv.current === v && vv.byNumber.size > 1) {
      throw new LaminateError('FAILED_PRECONDITION', `Cannot remove version ${version} of view '${view}': it is current`);
    }
    vv.byNumber.delete(version);
    if (vv.current === v) vv.current = undefined;
    if (vv.byNumber.size === 0) this.views.delete(view);
    return v.retire();
  }

  /** Lets every version of a view go (as remove); resolves when their files are closed. */
  async removeView(view: string): Promise<void> {
    const vv = this.views.get(view);
    if (vv === undefined) return;
    this.views.delete(view);
    await Promise.all([...vv.byNumber.values()].map((v) => v.retire()));
  }

  /**
   * Lets everything go and closes every file without waiting for requests
   * (their next read fails): the node's stop, once its server has stopped
   * taking requests. Safe to repeat.
   */
  async closeAll(): Promise<void> {
    const all = [...this.views.values()].flatMap((vv) => [...vv.byNumber.values()]);
    this.views.clear();
    await Promise.all(all.map((v) => v.retire({ force: true })));
  }
}
