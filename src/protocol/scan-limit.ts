/**
 * A scan's limit on the wire: proto3 cannot tell an unset int32 from 0, so
 * 0 means "no limit" in ScanRequest and SpeedScanRequest. A caller asking
 * for a limit of 0 would silently get every key: refused here instead,
 * before anything is sent.
 */
import { describe, LaminateError } from '../common/errors.js';

/**
 * The wire value of `limit`: 0 for none, else the limit itself. Called by
 * the Serving and Speed clients once per scan.
 *
 * @throws LaminateError INVALID_ARGUMENT for 0, a negative or a non-integer limit.
 */
export function wireScanLimit(limit: number | undefined): number {
  if (limit === undefined) return 0;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a scan limit of at least 1 (leave it out for no limit: 0 means none on the wire), got ${describe(limit)}`);
  }
  return limit;
}
