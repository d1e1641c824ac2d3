/**
 * The checkpoint file of one (view, definitionHash, partition): its state
 * (segments with their key -> accumulator maps), the offset it has applied
 * and its watermark part, saved as one unit (the Flink rule: state and
 * source offsets together, so a restore neither misses nor repeats a
 * record).
 *
 *   file    = magic "LSCK" | u32 LE format (1) | u32 LE payload length | u32 LE CRC-32 of payload | payload
 *   payload = msgpack of { view, definitionHash, partition, start, applied,
 *                          segments: [{ from, to, entries: [[key, accumulator], ...] }],
 *                          watermark: { maxEventTime?, lastRecordAt } }
 *
 * Accumulators are plain data (src/api/monoid.ts), packed inline by msgpackr
 * as the view files pack them. Pure; decode throws DATA_LOSS for a damaged
 * file and FAILED_PRECONDITION for a sound one of another view, definition
 * or partition (the loader ignores both, with a warning).
 */
import { crc32 } from 'node:zlib';
import { pack, unpack } from 'msgpackr';
import { errorMessage, LaminateError } from '../common/errors.js';
import type { SplitPart } from './partition-state.js';
import type { PartitionWatermark } from './watermark.js';

const MAGIC = Buffer.from('LSCK', 'latin1');
const FORMAT = 1;
const HEADER_BYTES = 16;

/** What one checkpoint holds. */
export interface Checkpoint<A = unknown> {
  readonly view: string;
  readonly definitionHash: string;
  readonly partition: number;
  readonly start: number;
  readonly applied: number;
  /** Contiguous from start to applied, each non-empty. */
  readonly segments: readonly SplitPart<A>[];
  readonly watermark: PartitionWatermark;
}

/** Which checkpoint a loader expects: anything else in the file is foreign. */
export interface CheckpointIdentity {
  readonly view: string;
  readonly definitionHash: string;
  readonly partition: number;
}

/** Encodes a checkpoint. Pure; called by the view thread once per partition per interval when its state changed. */
export function encodeCheckpoint<A>(c: Checkpoint<A>): Buffer {
  const payload = pack({
    view: c.view, definitionHash: c.definitionHash, partition: c.partition, start: c.start, applied: c.applied,
    segments: c.segments.map((s) => ({ from: s.from, to: s.to, entries: [...s.entries] })),
    watermark: { ...(c.watermark.maxEventTime !== undefined ? { maxEventTime: c.watermark.maxEventTime } : {}), lastRecordAt: c.watermark.lastRecordAt },
  });
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(FORMAT, 4);
  header.writeUInt32LE(payload.length, 8);
  header.writeUInt32LE(crc32(payload), 12);
  return Buffer.concat([header, payload]);
}

function damaged(what: string): LaminateError {
  return new LaminateError('DATA_LOSS', `Expected a checkpoint file, got ${what}`);
}

const isOffset = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/**
 * Decodes a checkpoint and checks that it is the one `expected` names.
 * Throws DATA_LOSS when the bytes are damaged (bad magic, length, CRC or
 * shape) and FAILED_PRECONDITION when they are sound but of another view,
 * definition or partition.
 */
export function decodeCheckpoint<A = unknown>(bytes: Uint8Array, expected: CheckpointIdentity): Checkpoint<A> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEADER_BYTES) throw damaged(`${buf.length} bytes (shorter than its ${HEADER_BYTES}-byte header)`);
  if (!buf.subarray(0, 4).equals(MAGIC)) throw damaged(`magic ${JSON.stringify(buf.subarray(0, 4).toString('latin1'))} instead of "LSCK"`);
  const format = buf.readUInt32LE(4);
  if (format !== FORMAT) throw damaged(`format ${format} instead of ${FORMAT}`);
  const length = buf.readUInt32LE(8);
  if (buf.length !== HEADER_BYTES + length) throw damaged(`${buf.length - HEADER_BYTES} payload bytes where the header says ${length} (torn write)`);
  const payload = buf.subarray(HEADER_BYTES);
  const crc = crc32(payload);
  if (crc !== buf.readUInt32LE(12)) throw damaged(`a payload whose CRC-32 is ${crc}, not the ${buf.readUInt32LE(12)} its header says`);
  let raw: unknown;
  try {
    raw = unpack(payload);
  } catch (err) {
    throw damaged(`a payload that is not msgpack (${errorMessage(err)})`);
  }
  const c = raw as Record<string, unknown>;
  if (c === null || typeof c !== 'object' || typeof c.view !== 'string' || typeof c.definitionHash !== 'string' || !isOffset(c.partition)
    || !isOffset(c.start) || !isOffset(c.applied) || !Array.isArray(c.segments) || c.watermark === null || typeof c.watermark !== 'object') {
    throw damaged('a payload without view, definitionHash, partition, start, applied, segments and watermark');
  }
  if (c.view !== expected.view || c.definitionHash !== expected.definitionHash || c.partition !== expected.partition) {
    throw new LaminateError('FAILED_PRECONDITION', `Expected the checkpoint of view '${expected.view}' (definition ${expected.definitionHash.slice(0, 12)}) partition ${expected.partition}, got view '${c.view}' (definition ${c.definitionHash.slice(0, 12)}) partition ${String(c.partition)}`);
  }
  let at = c.start;
  const segments: SplitPart<A>[] = [];
  for (const s of c.segments as unknown[]) {
    const seg = s as { from?: unknown; to?: unknown; entries?: unknown };
    if (seg === null || typeof seg !== 'object' || seg.from !== at || !isOffset(seg.to) || seg.to <= at || !Array.isArray(seg.entries)) {
      throw damaged(`segments that are not contiguous and non-empty from ${c.start}`);
    }
    const entries = new Map<string, A>();
    for (const e of seg.entries as unknown[]) {
      if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string') throw damaged('a segment entry that is not [key, accumulator]');
      entries.set(e[0], e[1] as A);
    }
    segments.push({ from: at, to: seg.to, entries });
    at = seg.to;
  }
  if (at !== c.applied) throw damaged(`segments ending at ${at} while applied is ${c.applied}`);
  const w = c.watermark as { maxEventTime?: unknown; lastRecordAt?: unknown };
  const maxEventTime = typeof w.maxEventTime === 'number' ? w.maxEventTime : undefined;
  const lastRecordAt = typeof w.lastRecordAt === 'number' ? w.lastRecordAt : 0;
  return { view: c.view, definitionHash: c.definitionHash, partition: c.partition, start: c.start, applied: c.applied, segments, watermark: { maxEventTime, lastRecordAt } };
}
