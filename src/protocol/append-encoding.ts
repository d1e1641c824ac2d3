/**
 * The Append request on the wire, encoded by hand: protobufjs would copy
 * every batch body into a fresh buffer of its own (a 256 KiB allocation and
 * copy per batch, outside the JS heap, which V8 answers with full
 * collections). Here a body that a producer allocated with
 * allocateAppendBuffer gets the request's header written into the room left
 * before it, and the request is that region of the producer's buffer: no
 * copy at all (grpc-js then frames it once, as it frames any message).
 *
 *   message AppendRequest { repeated AppendBatch batches = 1; }
 *   message AppendBatch { string dataset = 1; int32 partition = 2; string producer_id = 3;
 *                         int64 sequence = 4; int32 count = 5; bytes body = 6; bool replay = 7; }
 *
 * Fields are written in the order 1, 2, 3, 4, 5, 7, 6 (the body last, so
 * that the header ends where the body starts); protobuf decoders take fields
 * in any order. Values this encoder does not write (a negative or unsafe
 * integer, which only a buggy caller sends and the store refuses) go through
 * protobufjs instead, so that the master sees exactly what it would have.
 *
 * Who calls it: DatasetClient.append, once per call; pure apart from writing
 * into the headroom of buffers from allocateAppendBuffer.
 */
import { varintSize, writeVarint } from '../common/varint.js';
import type { WireAppendBatch, AppendRequest } from './dataset-messages.js';

/** Bytes left free before a body from allocateAppendBuffer: room for the header of a one-batch request. */
export const APPEND_HEADROOM_BYTES = 512;

/** ArrayBuffers whose first APPEND_HEADROOM_BYTES bytes are the encoder's to write. */
const withHeadroom = new WeakSet<ArrayBufferLike>();

/**
 * A buffer of `bytes` for a batch body, with APPEND_HEADROOM_BYTES free before
 * it in the same memory, which encodeAppendRequest may overwrite whenever a
 * request with this body is encoded. Its owner must not use those bytes
 * (they are outside the returned view).
 */
export function allocateAppendBuffer(bytes: number): Buffer {
  const whole = Buffer.allocUnsafeSlow(APPEND_HEADROOM_BYTES + bytes);
  withHeadroom.add(whole.buffer);
  return whole.subarray(APPEND_HEADROOM_BYTES);
}

const INT32_MAX = 0x7fffffff;

function encodable(b: WireAppendBatch): boolean {
  const int32 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= INT32_MAX;
  return typeof b.dataset === 'string' && typeof b.producerId === 'string' && typeof b.replay === 'boolean' &&
    int32(b.partition) && int32(b.count) && Number.isSafeInteger(b.sequence) && b.sequence >= 0 && b.body instanceof Uint8Array;
}

/** Sizes of one batch's fields before the body, and of the body's own tag and length. */
function headerBytes(b: WireAppendBatch, datasetBytes: number, producerBytes: number): number {
  let n = 0;
  if (datasetBytes > 0) n += 1 + varintSize(datasetBytes) + datasetBytes;
  if (b.partition !== 0) n += 1 + varintSize(b.partition);
  if (producerBytes > 0) n += 1 + varintSize(producerBytes) + producerBytes;
  if (b.sequence !== 0) n += 1 + varintSize(b.sequence);
  if (b.count !== 0) n += 1 + varintSize(b.count);
  if (b.replay) n += 2;
  return n + 1 + varintSize(b.body.byteLength);
}

/** Writes one batch's fields up to the body's tag and length; returns the position after them. */
function writeHeader(buf: Buffer, pos: number, b: WireAppendBatch, datasetBytes: number, producerBytes: number): number {
  if (datasetBytes > 0) {
    buf[pos++] = 0x0a;
    pos = writeVarint(buf, pos, datasetBytes);
    pos += buf.write(b.dataset, pos, 'utf8');
  }
  if (b.partition !== 0) {
    buf[pos++] = 0x10;
    pos = writeVarint(buf, pos, b.partition);
  }
  if (producerBytes > 0) {
    buf[pos++] = 0x1a;
    pos = writeVarint(buf, pos, producerBytes);
    pos += buf.write(b.producerId, pos, 'utf8');
  }
  if (b.sequence !== 0) {
    buf[pos++] = 0x20;
    pos = writeVarint(buf, pos, b.sequence);
  }
  if (b.count !== 0) {
    buf[pos++] = 0x28;
    pos = writeVarint(buf, pos, b.count);
  }
  if (b.replay) {
    buf[pos++] = 0x38;
    buf[pos++] = 1;
  }
  buf[pos++] = 0x32;
  return writeVarint(buf, pos, b.body.byteLength);
}

/**
 * The request's bytes, or undefined when a value is not one this encoder
 * writes (the caller then uses protobufjs). One batch whose body came from
 * allocateAppendBuffer: a view of the body's own buffer, the header written
 * just before the body. Otherwise: one new buffer, each body copied once.
 */
export function encodeAppendRequest(req: AppendRequest): Buffer | undefined {
  const batches = req.batches;
  if (!batches.every(encodable)) return undefined;
  const datasetBytes = batches.map((b) => Buffer.byteLength(b.dataset, 'utf8'));
  const producerBytes = batches.map((b) => Buffer.byteLength(b.producerId, 'utf8'));
  const messageBytes = batches.map((b, i) => headerBytes(b, datasetBytes[i]!, producerBytes[i]!) + b.body.byteLength);
  const only = batches.length === 1 ? batches[0]! : undefined;
  if (only !== undefined && withHeadroom.has(only.body.buffer) && only.body.byteOffset === APPEND_HEADROOM_BYTES) {
    const header = 1 + varintSize(messageBytes[0]!) + messageBytes[0]! - only.body.byteLength;
    if (header <= APPEND_HEADROOM_BYTES) {
      const whole = Buffer.from(only.body.buffer, 0, APPEND_HEADROOM_BYTES + only.body.byteLength);
      let pos = APPEND_HEADROOM_BYTES - header;
      whole[pos++] = 0x0a;
      pos = writeVarint(whole, pos, messageBytes[0]!);
      writeHeader(whole, pos, only, datasetBytes[0]!, producerBytes[0]!);
      return whole.subarray(APPEND_HEADROOM_BYTES - header);
    }
  }
  let total = 0;
  for (const n of messageBytes) total += 1 + varintSize(n) + n;
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  batches.forEach((b, i) => {
    out[pos++] = 0x0a;
    pos = writeVarint(out, pos, messageBytes[i]!);
    pos = writeHeader(out, pos, b, datasetBytes[i]!, producerBytes[i]!);
    out.set(b.body, pos);
    pos += b.body.byteLength;
  });
  return out;
}
