/**
 * Copies one sealed segment to the archive, with what a reader needs of it,
 * and proves the copy whole before anyone records it (archiver.ts records it
 * in the manifest, see archive-manifest.ts):
 *
 * 1. walks the local segment's batches, checking each one's CRC and that
 *    its offsets run densely from the segment's base to the next one's (a
 *    damaged segment is never archived: a reader would trust it);
 * 2. uploads the file's bytes in chunks (the store's upload: a multipart
 *    upload on S3, invisible until committed), computing their CRC-32;
 * 3. reads the object back and checks its size and CRC-32 against the file's.
 *
 * Every step overwrites what an earlier, unfinished copy left, so a repeat
 * is safe. Memory: one read chunk and the store's upload part.
 */
import { crc32 } from 'node:zlib';
import { describe, LaminateError } from '../common/errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { archiveSegmentKey, type ArchivedSegment, type SealedSegmentInfo } from './archive-manifest.js';
import { BatchScanner } from './batch-scanner.js';
import type { FileSystem } from './file-system.js';

export interface SegmentCopyContext {
  readonly fs: FileSystem;
  readonly archive: ObjectStore;
  /** The archive's key prefix in `archive`. */
  readonly prefix: string;
  readonly dataset: string;
  readonly partition: number;
  /** Bytes read from the file per upload write. Default 1 MiB. */
  readonly chunkBytes?: number;
}

const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/**
 * Copies `segment` (sealed: its bytes never change) to the archive and
 * returns its manifest entry once the copy is verified. Called by the
 * archiver, one segment at a time per partition, in offset order; safe to
 * repeat for a segment already (wholly or partly) copied.
 *
 * @throws LaminateError DATA_LOSS when the local segment is damaged (no
 *   copy will mend that); UNAVAILABLE when the object read back differs
 *   from the file (a later pass copies it again); a store error
 *   (UNAVAILABLE after the store's retries, NOT_FOUND, UNAUTHENTICATED) as
 *   the store raised it.
 */
export async function copySegment(ctx: SegmentCopyContext, segment: SealedSegmentInfo): Promise<ArchivedSegment> {
  const ids = { dataset: ctx.dataset, partition: ctx.partition, offset: segment.baseOffset };
  const where = `segment ${segment.path} of dataset ${describe(ctx.dataset)} partition ${ctx.partition}`;
  await checkSegment(ctx, segment, where);
  const key = archiveSegmentKey(ctx.prefix, ctx.dataset, ctx.partition, segment.baseOffset);
  const crc = await uploadFile(ctx, segment, key);

  // Read back: the object must be the file, byte for byte, before the manifest may name it.
  const info = await ctx.archive.stat(key);
  if (info?.size !== segment.bytes) {
    throw new LaminateError('UNAVAILABLE', `Expected the archived copy ${ctx.archive.describe(key)} of ${where} to hold ${segment.bytes} bytes, got ${info === undefined ? 'no object' : `${info.size}`}; it will be copied again`, { ids });
  }
  let readCrc = 0;
  for await (const chunk of ctx.archive.readStream(key)) readCrc = crc32(chunk, readCrc);
  if (readCrc !== crc) {
    throw new LaminateError('UNAVAILABLE', `Expected the archived copy ${ctx.archive.describe(key)} of ${where} to have CRC-32 ${crc}, got ${readCrc} when read back; it will be copied again`, { ids });
  }
  return { baseOffset: segment.baseOffset, endOffset: segment.endOffset, bytes: segment.bytes, crc32: crc };
}

/** Step 1: every batch whole and dense from the base to the end offset. */
async function checkSegment(ctx: SegmentCopyContext, segment: SealedSegmentInfo, where: string): Promise<void> {
  const file = await ctx.fs.open(segment.path, 'r');
  try {
    const scanner = new BatchScanner(file, { end: segment.bytes, expectedOffset: segment.baseOffset, verify: true });
    let next = segment.baseOffset;
    for (;;) {
      const step = await scanner.next();
      if (step.kind === 'batch') {
        next = step.header.baseOffset + step.header.count;
        continue;
      }
      if (step.kind === 'problem' || next !== segment.endOffset) {
        const why = step.kind === 'problem' ? `${step.reason} at byte ${step.position}` : `batches ending at offset ${next} where the next segment starts at ${segment.endOffset}`;
        throw new LaminateError('DATA_LOSS', `Expected whole batches of offsets [${segment.baseOffset}, ${segment.endOffset}) in ${where} to archive, got ${why}; the segment is not archived`, { ids: { dataset: ctx.dataset, partition: ctx.partition, offset: next } });
      }
      return;
    }
  } finally {
    await file.close();
  }
}

/** Step 2: the file's bytes to an upload committed at `key`; returns their CRC-32. */
async function uploadFile(ctx: SegmentCopyContext, segment: SealedSegmentInfo, key: string): Promise<number> {
  const chunkBytes = ctx.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const upload = await ctx.archive.startUpload(key);
  const file = await ctx.fs.open(segment.path, 'r');
  let committed = false;
  try {
    const buf = Buffer.allocUnsafe(chunkBytes);
    let crc = 0;
    for (let pos = 0; pos < segment.bytes;) {
      const n = await file.read(buf, 0, Math.min(chunkBytes, segment.bytes - pos), pos);
      if (n === 0) throw new LaminateError('DATA_LOSS', `Expected ${segment.bytes} bytes in ${segment.path}, got ${pos}`, { ids: { dataset: ctx.dataset, partition: ctx.partition } });
      const chunk = buf.subarray(0, n);
      crc = crc32(chunk, crc);
      await upload.write(chunk);
      pos += n;
    }
    await ctx.archive.commitUpload(await upload.finish());
    committed = true;
    return crc;
  } finally {
    await file.close();
    if (!committed) await upload.abort().catch(() => undefined);
  }
}
