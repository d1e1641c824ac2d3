/**
 * Walks the batches of a segment file in order through one read buffer:
 * recovery verifies each one (CRC), building an offset index or rebuilding
 * producer state reads headers only. Used once per segment at a time; not
 * shared between callers.
 */
import { BATCH_MAGIC, checkBatchCrc, parseBatchHeader, type BatchHeader } from './batch-format.js';
import type { DatasetFile } from './file-system.js';

/** One step of a scan. */
export type ScanStep =
  | { readonly kind: 'batch'; readonly position: number; readonly header: BatchHeader }
  /** Every byte up to the end was a whole, valid batch. */
  | { readonly kind: 'end'; readonly position: number }
  /**
   * The bytes at `position` are not a valid batch: `torn` when the batch
   * runs past the end of the file (an unfinished write), else damaged or
   * foreign bytes (bad magic, impossible fields, wrong offset, CRC mismatch).
   */
  | { readonly kind: 'problem'; readonly position: number; readonly torn: boolean; readonly reason: string };

export interface ScanOptions {
  /** First position to read; default 0. */
  readonly from?: number;
  /** The file's size (or the durable part of it): nothing past it is read. */
  readonly end: number;
  /** The base offset the first batch must have; each next batch must continue densely. */
  readonly expectedOffset: number;
  /** Check each batch's CRC (reads the bodies too). */
  readonly verify: boolean;
  /** Read buffer size; default 1 MiB. */
  readonly chunkBytes?: number;
}

const DEFAULT_CHUNK_BYTES = 1024 * 1024;

export class BatchScanner {
  private buf: Buffer;
  /** File position of buf[0]; buf holds `filled` valid bytes. */
  private bufPos = 0;
  private filled = 0;
  private position: number;
  private expectedOffset: number;
  private done = false;

  constructor(private readonly file: DatasetFile, private readonly options: ScanOptions) {
    this.buf = Buffer.allocUnsafe(options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
    this.position = options.from ?? 0;
    this.expectedOffset = options.expectedOffset;
  }

  /** The next batch, or how the scan ended. After 'end' or 'problem', repeats it. */
  async next(): Promise<ScanStep> {
    const end = this.options.end;
    const p = this.position;
    if (p >= end) return this.finish({ kind: 'end', position: p });
    const header = await this.headerAt(p);
    if (header === 'short') return this.finish({ kind: 'problem', position: p, torn: true, reason: `a batch header cut short by the end of the file at byte ${end}` });
    if (header === 'invalid') return this.finish({ kind: 'problem', position: p, torn: false, reason: 'bytes that are not a batch header' });
    if (header.baseOffset !== this.expectedOffset) {
      return this.finish({ kind: 'problem', position: p, torn: false, reason: `a batch with base offset ${header.baseOffset} where offset ${this.expectedOffset} was expected` });
    }
    if (p + header.batchBytes > end) {
      return this.finish({ kind: 'problem', position: p, torn: true, reason: `a batch of ${header.batchBytes} bytes cut short by the end of the file at byte ${end}` });
    }
    if (this.options.verify) {
      await this.ensure(p, header.batchBytes);
      if (!checkBatchCrc(this.buf, p - this.bufPos, header)) {
        return this.finish({ kind: 'problem', position: p, torn: false, reason: `a batch whose CRC does not match its bytes (offsets ${header.baseOffset} to ${header.baseOffset + header.count - 1})` });
      }
    }
    this.position = p + header.batchBytes;
    this.expectedOffset = header.baseOffset + header.count;
    return { kind: 'batch', position: p, header };
  }

  /**
   * After a problem at `from`: the first position past it where a whole
   * batch with a matching CRC starts (found by its magic, as LevelDB's
   * reader skips to the next block), or undefined when none does before the
   * end. Any base offset is accepted; the scan continues from there.
   */
  async resync(from: number): Promise<{ position: number; header: BatchHeader } | undefined> {
    const end = this.options.end;
    let p = from + 1;
    while (p + 4 <= end) {
      await this.ensure(p, Math.min(this.buf.length, end - p));
      const at = this.buf.subarray(0, this.filled).indexOf(magicBytes, p - this.bufPos);
      const limit = this.bufPos + this.filled;
      if (at < 0) {
        // Keep the last 3 bytes: the magic may straddle the chunk boundary.
        p = Math.max(p + 1, limit - 3);
        continue;
      }
      const candidate = this.bufPos + at;
      if (candidate + 4 > end) break;
      const header = await this.headerAt(candidate);
      if (typeof header !== 'string' && candidate + header.batchBytes <= end) {
        await this.ensure(candidate, header.batchBytes);
        if (checkBatchCrc(this.buf, candidate - this.bufPos, header)) {
          this.seek(candidate, header.baseOffset);
          return { position: candidate, header };
        }
      }
      p = candidate + 1;
    }
    return undefined;
  }

  /** Continues the scan at `position`, where a batch with base offset `expectedOffset` starts. */
  seek(position: number, expectedOffset: number): void {
    this.position = position;
    this.expectedOffset = expectedOffset;
    this.done = false;
  }

  private finish(step: ScanStep): ScanStep {
    this.done = true;
    return step;
  }

  get finished(): boolean {
    return this.done;
  }

  private async headerAt(p: number): Promise<BatchHeader | 'short' | 'invalid'> {
    // A header is at most 52 + 255 bytes; read what is there up to that.
    await this.ensure(p, Math.min(307, this.options.end - p));
    return parseBatchHeader(this.buf.subarray(p - this.bufPos, this.filled), 0);
  }

  /** Makes buf hold file bytes [p, p + length) (length bounded by the scan's end). */
  private async ensure(p: number, length: number): Promise<void> {
    if (p >= this.bufPos && p + length <= this.bufPos + this.filled) return;
    if (length > this.buf.length) this.buf = Buffer.allocUnsafe(length);
    const want = Math.min(this.buf.length, this.options.end - p);
    let got = 0;
    while (got < want) {
      const n = await this.file.read(this.buf, got, want - got, p + got);
      if (n === 0) break;
      got += n;
    }
    this.bufPos = p;
    this.filled = got;
  }
}

const magicBytes = Buffer.alloc(4);
magicBytes.writeUInt32LE(BATCH_MAGIC, 0);
