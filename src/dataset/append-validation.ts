/**
 * Checks an AppendBatch before anything of it is written: its shape, its
 * producer fields, and every record of its body (length prefix within the
 * record limit, exactly one decodable msgpack value). Pure; the store calls
 * it for every batch of an append, before admitting any of them, so a bad
 * batch changes nothing.
 */
import { describe, LaminateError } from '../common/errors.js';
import { MAX_PRODUCER_ID_BYTES } from '../common/ids.js';
import { checkMsgpackValue } from './msgpack-check.js';
import { countRecords, readLength, RECORD_HEADER_BYTES } from '../storage/record-body.js';
import type { AppendBatch } from './types.js';

export interface AppendLimits {
  readonly maxRecordBytes: number;
  readonly maxBatchBytes: number;
}

/** Throws INVALID_ARGUMENT, naming the dataset and partition, when `batch` cannot be stored. */
export function validateAppendBatch(batch: AppendBatch, limits: AppendLimits): void {
  const ids = { dataset: batch.dataset, partition: batch.partition };
  const where = `batch for ${describe(batch.dataset)} partition ${String(batch.partition)}`;
  const fail = (message: string): never => {
    throw new LaminateError('INVALID_ARGUMENT', `${message} (${where})`, { ids });
  };
  if (!(batch.body instanceof Uint8Array)) fail(`Expected a body of bytes, got ${describe(batch.body)}`);
  if (!Number.isSafeInteger(batch.count) || batch.count <= 0) {
    fail(`Expected a record count that is a positive integer, got ${describe(batch.count)}`);
  }
  if (batch.body.byteLength > limits.maxBatchBytes) {
    fail(`Expected a batch body of at most ${limits.maxBatchBytes} bytes, got ${batch.body.byteLength} bytes`);
  }
  validateProducerFields(batch, fail);
  let count;
  try {
    count = countRecords(batch.body, limits.maxRecordBytes);
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
  if (count !== batch.count) fail(`Expected a body of ${batch.count} records as its count says, got ${count}`);
  // The prefixes were checked above: walk them again, with no span object per record.
  const body = batch.body;
  let p = 0;
  for (let i = 0; i < count; i++) {
    const start = p + RECORD_HEADER_BYTES;
    p = start + readLength(body, p);
    const problem = checkMsgpackValue(body, start, p);
    if (problem !== undefined) fail(`Expected record ${i} of the body to be one msgpack JSON value, got ${problem}`);
  }
}

function validateProducerFields(batch: AppendBatch, fail: (message: string) => never): void {
  const { producerId, sequence, replay } = batch;
  if (replay !== undefined && typeof replay !== 'boolean') fail(`Expected replay to be a boolean, got ${describe(replay)}`);
  if (producerId === undefined && replay === true) fail('Expected a producer id with replay (replay skips what that producer stored before), got none');
  if (producerId === undefined && sequence === undefined) return;
  if (producerId === undefined || sequence === undefined) {
    fail(`Expected producerId and sequence together or neither, got ${producerId === undefined ? 'a sequence without a producer id' : 'a producer id without a sequence'}`);
  }
  if (typeof producerId !== 'string' || producerId.length === 0) fail(`Expected a producer id that is a non-empty string, got ${describe(producerId)}`);
  const bytes = Buffer.byteLength(producerId, 'utf8');
  if (bytes > MAX_PRODUCER_ID_BYTES) fail(`Expected a producer id of at most ${MAX_PRODUCER_ID_BYTES} UTF-8 bytes, got ${bytes}`);
  if (!Number.isSafeInteger(sequence) || sequence < 0 || !Number.isSafeInteger(sequence + batch.count)) {
    fail(`Expected a sequence that is a non-negative integer, got ${describe(sequence)}`);
  }
}
