/**
 * One view version a serving node has loaded: its manifest, an open reader
 * per file (its local copies, verified), how its values are presented, and
 * how many requests hold it. A version set (version-set.ts) hands it to
 * requests under a lease; once the set lets it go (a swap made it neither
 * current nor kept), retire() closes its files when the last request
 * holding it has ended, so a request reads one version from start to end
 * and never a closed file.
 */
import type { Coverage } from '../common/serving-shapes.js';
import { LaminateError } from '../common/errors.js';
import type { Presentation } from '../view/monoid-by-name.js';
import type { ViewFileReader } from '../view/view-file-reader.js';
import type { ViewManifest } from '../view/view-manifest.js';
import { mergedValue, type SpeedSide } from './speed-merge.js';

export class LoadedVersion {
  readonly coverage: Coverage;
  private refs = 0;
  private retiring: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private forced = false;

  /**
   * @param readers one per file of the manifest, in partition order, open
   *   and verified; the version owns them from here on (retire closes them).
   * @param dir the local folder of the version's files.
   */
  constructor(
    readonly manifest: ViewManifest,
    private readonly readers: readonly ViewFileReader[],
    readonly presentation: Presentation,
    readonly dir: string,
  ) {
    if (readers.length !== manifest.files.length) {
      throw new LaminateError('INTERNAL', `Expected a reader per file of version ${manifest.version} of view '${manifest.view}' (${manifest.files.length}), got ${readers.length}`);
    }
    this.coverage = { version: manifest.version, cut: manifest.cut };
  }

  get view(): string {
    return this.manifest.view;
  }

  get version(): number {
    return this.manifest.version;
  }

  /** Requests holding the version now. */
  get holders(): number {
    return this.refs;
  }

  /** Whether retire() was called: no new lease may take it. */
  get retired(): boolean {
    return this.retiring !== undefined;
  }

  /** The reader of a partition's file. Only while held. */
  reader(partition: number): ViewFileReader {
    const r = this.readers[partition];
    if (r === undefined) throw new LaminateError('INTERNAL', `Version ${this.version} of view '${this.view}' has no partition ${partition}`);
    return r;
  }

  /**
   * A key's answer from its stored accumulator (undefined: the batch has
   * none) and the speed side of the read, if any (speed-merge.ts
   * mergedValue): found, and the msgpack of the presented value.
   *
   * @throws LaminateError FAILED_PRECONDITION naming the view, version and
   *   key when an accumulator is refused (a custom monoid deployed under a
   *   built-in's name).
   */
  answer(key: string, stored: Buffer | undefined, side?: SpeedSide): { found: boolean; value: Buffer } {
    try {
      return mergedValue(key, stored, side, this.presentation);
    } catch (err) {
      if (!(err instanceof LaminateError)) throw err;
      throw new LaminateError(err.code, `View '${this.view}' version ${this.version}: ${err.message}`, { cause: err, ids: { view: this.view, version: this.version } });
    }
  }

  /**
   * The error of a read that failed in partition `partition`'s file,
   * naming the view, version and file (DATA_LOSS stays DATA_LOSS: never a
   * wrong value, always a clear error).
   */
  explain(err: unknown, partition?: number): unknown {
    if (!(err instanceof LaminateError) || err.code !== 'DATA_LOSS') return err;
    const file = partition === undefined ? '' : `, file '${this.manifest.files[partition]?.name ?? partition}'`;
    return new LaminateError('DATA_LOSS', `View '${this.view}' version ${this.version}${file}: ${err.message}`, { cause: err, ids: { view: this.view, version: this.version } });
  }

  /** Called by VersionSet when a lease takes the version. */
  hold(): void {
    if (this.retiring !== undefined) throw new LaminateError('INTERNAL', `Version ${this.version} of view '${this.view}' is retired`);
    this.refs++;
  }

  /** Called by VersionSet when a lease ends (once per hold). */
  release(): void {
    if (this.refs <= 0) throw new LaminateError('INTERNAL', `Version ${this.version} of view '${this.view}' released more often than held`);
    this.refs--;
    if (this.refs === 0) this.wake?.();
  }

  /**
   * Closes the files once no request holds the version (at once when none
   * does), and resolves then. Called by VersionSet when it lets the version
   * go, and at the node's stop; safe to call twice (the same promise).
   * With `force` (stop), closes without waiting for holders: their next
   * block read fails with FAILED_PRECONDITION.
   */
  retire(options: { force?: boolean } = {}): Promise<void> {
    if (options.force === true) this.forced = true;
    this.retiring ??= (async () => {
      if (this.refs > 0 && !this.forced) await new Promise<void>((resolve) => (this.wake = resolve));
      await Promise.all(this.readers.map((r) => r.close(this.forced ? { force: true } : {})));
    })();
    if (this.forced) this.wake?.();
    return this.retiring;
  }
}
