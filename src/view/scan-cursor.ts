/**
 * A scan of one view file entry by entry, without an object per entry: the
 * current key's bytes and the value's place in its block are fields of the
 * cursor, valid until the next step. What a Scan that packs its answer
 * straight from the blocks (src/serving/packed-scan.ts) reads; scanBatches()
 * gives the same entries as objects.
 *
 * Bounds as ViewScanOptions (from inclusive, to exclusive, limit), already
 * encoded by the reader. Blocks come from the reader (cache, or read and
 * checked), so a damaged block fails the step that reaches it with
 * DATA_LOSS, after the entries before it.
 */
import { Block, BlockCursor } from './view-block.js';

/** What a ScanCursor needs of its reader. */
export interface ScanBlockSource {
  /** Data blocks in the file. */
  readonly blocks: number;
  /** The first block whose last key is at or after `target`. */
  blockFrom(target: Buffer): number;
  /** Block i, checked: a Block when no wait is needed, else a promise. */
  readBlock(i: number): Block | Promise<Block>;
  /** Called once when the scan ends (its end, the limit, or close()). */
  done(): void;
}

export class ScanCursor {
  private readonly c = new BlockCursor();
  /** The next block to read. */
  private i: number;
  private remaining: number;
  private first = true;
  private ended = false;
  private started = false;

  constructor(
    private readonly source: ScanBlockSource,
    private readonly lower: Buffer | undefined,
    private readonly upper: Buffer | undefined,
    limit: number,
  ) {
    this.remaining = limit;
    this.i = 0;
  }

  /** The current key's UTF-8 bytes are key[0, keyLength). */
  get key(): Buffer {
    return this.c.key;
  }

  get keyLength(): number {
    return this.c.keyLength;
  }

  /** The current value's bytes are data[valueStart, valueEnd) (a shared block: read, never write). */
  get data(): Buffer {
    return this.c.block!.data;
  }

  get valueStart(): number {
    return this.c.valueStart;
  }

  get valueEnd(): number {
    return this.c.valueEnd;
  }

  /**
   * Moves to the next entry: true when there is one, false at the end of
   * the scan (which ends it: done() is called). A boolean when no block had
   * to be awaited, else a promise of one: callers await only then.
   *
   * @throws LaminateError DATA_LOSS for a block that fails its checksum or
   *   parse; FAILED_PRECONDITION when the file was force-closed.
   */
  step(): boolean | Promise<boolean> {
    if (this.ended) return false;
    if (this.remaining <= 0) return this.finish();
    if (!this.started) {
      this.started = true;
      if (this.lower !== undefined && this.upper !== undefined && Buffer.compare(this.lower, this.upper) >= 0) return this.finish();
      this.i = this.lower === undefined ? 0 : this.source.blockFrom(this.lower);
      if (this.i >= this.source.blocks) return this.finish();
      return this.enter();
    }
    return this.c.next() ? this.accept() : this.enter();
  }

  /** Ends the scan early (safe to repeat; a scan at its end is ended already). */
  close(): void {
    if (!this.ended) this.finish();
  }

  /** Reads the next block and positions at its first entry in bounds. */
  private enter(): boolean | Promise<boolean> {
    for (;;) {
      if (this.i >= this.source.blocks) return this.finish();
      const read = this.source.readBlock(this.i++);
      if (read instanceof Promise) {
        return read.then((b) => (this.position(b) ? this.accept() : this.enter()), (err: unknown) => {
          this.close();
          throw err;
        });
      }
      if (this.position(read)) return this.accept();
    }
  }

  /** At a block's first entry (sought to the lower bound in the first block): whether it has one. */
  private position(block: Block): boolean {
    if (this.first && this.lower !== undefined) {
      this.first = false;
      return this.c.seek(block, this.lower);
    }
    this.first = false;
    this.c.reset(block);
    return this.c.next();
  }

  /** The current entry, unless it is at or past the upper bound (then the scan ends). */
  private accept(): boolean {
    if (this.upper !== undefined && this.c.compareKey(this.upper) >= 0) return this.finish();
    this.remaining--;
    return true;
  }

  private finish(): false {
    if (!this.ended) {
      this.ended = true;
      this.source.done();
    }
    return false;
  }
}
