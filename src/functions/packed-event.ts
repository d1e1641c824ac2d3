/**
 * A dataset trigger's event with its records left as the log stores them.
 *
 * The records of a batch are msgpack in the dataset's segments already
 * (record-body.ts: a length prefix, then one msgpack value each). Decoding
 * them in the master only for the invocation service to encode them again,
 * and the container to decode them a second time, was most of what a batch
 * cost the master. Here the event's msgpack is formed from the stored bytes
 * (a map header, the three small fields, an array header, then each
 * record's bytes without its prefix): the container is the only one to
 * decode the records. Anyone else who reads `event.records` (a dead letter,
 * a test's fake invoker) gets them decoded then, once.
 *
 * Who calls it: the dataset trigger, once per batch; the invocation service
 * takes the bytes with packedEventBytes().
 */
import { pack, unpack } from 'msgpackr';
import { readLength, RECORD_HEADER_BYTES } from '../storage/record-body.js';

/** The event as a handler sees it. */
export interface DatasetBatchEvent {
  readonly dataset: string;
  readonly partition: number;
  readonly firstOffset: number;
  readonly records: readonly unknown[];
}

const PACKED = Symbol('laminate.packedEvent');

/** The msgpack bytes of an event made by datasetBatchEvent; undefined for any other value. */
export function packedEventBytes(event: unknown): Buffer | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const bytes = (event as { [PACKED]?: unknown })[PACKED];
  return Buffer.isBuffer(bytes) ? bytes : undefined;
}

/** msgpack's array header for `n` elements. */
function arrayHeader(n: number): Buffer {
  if (n < 16) return Buffer.from([0x90 | n]);
  if (n < 0x10000) return Buffer.from([0xdc, n >>> 8, n & 0xff]);
  const b = Buffer.allocUnsafe(5);
  b[0] = 0xdd;
  b.writeUInt32BE(n, 1);
  return b;
}

/**
 * The event of the records in `bodies` (record bodies as the store reads
 * them, `count` records in all, in offset order from `firstOffset`). Its
 * msgpack equals what msgpackr would make of the decoded event, but for
 * map sizes; `records` decodes on first reading.
 */
export function datasetBatchEvent(dataset: string, partition: number, firstOffset: number, bodies: readonly Uint8Array[], count: number): DatasetBatchEvent {
  const head: Uint8Array[] = [Buffer.from([0x84])];
  for (const [key, value] of [['dataset', dataset], ['partition', partition], ['firstOffset', firstOffset]] as const) head.push(pack(key), pack(value));
  head.push(pack('records'), arrayHeader(count));
  let headBytes = 0;
  for (const h of head) headBytes += h.byteLength;
  let bodyBytes = 0;
  for (const body of bodies) bodyBytes += body.byteLength;
  // One buffer, sized up front (each record loses its length prefix), and each record copied in without a view of it:
  // a view (and a part to concatenate) per record was most of what forming an event cost.
  const bytes = Buffer.allocUnsafe(headBytes + bodyBytes - RECORD_HEADER_BYTES * count);
  let at = 0;
  for (const h of head) {
    bytes.set(h, at);
    at += h.byteLength;
  }
  let seen = 0;
  for (const b of bodies) {
    const body = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    for (let p = 0; p < body.byteLength;) {
      const start = p + RECORD_HEADER_BYTES;
      p = start + readLength(body, p);
      if (++seen > count || p > body.byteLength) break;
      at += body.copy(bytes, at, start, p);
    }
  }
  if (seen !== count || at !== bytes.byteLength) throw new Error(`Expected ${count} records in the batch's bodies, got ${seen}${at === bytes.byteLength ? '' : ' (or bodies that are not whole records)'}`);
  let records: readonly unknown[] | undefined;
  const event = { dataset, partition, firstOffset } as { -readonly [K in keyof DatasetBatchEvent]: DatasetBatchEvent[K] };
  Object.defineProperty(event, 'records', {
    enumerable: true,
    get: () => (records ??= (unpack(bytes) as DatasetBatchEvent).records),
  });
  Object.defineProperty(event, PACKED, { enumerable: false, value: bytes });
  return event;
}
