/**
 * The queries a serving node answers (the Serving service: Get, which is
 * MultiGet when it names several keys, and Scan) and their answers, as the
 * serving layer and the clients see them. Keys here are engine keys (the
 * strings src/common/view-key.ts encodes, in byte order = key order);
 * values are msgpack bytes of the presented value. Wire mapping in
 * src/protocol/serving-rpc.ts.
 */

/** Which records an answer counts: the batch version read and its cut (every source record before it). */
export interface Coverage {
  readonly version: number;
  readonly cut: readonly number[];
}

/** Get / MultiGet: every key is read from one version. */
export interface GetQuery {
  readonly view: string;
  readonly keys: readonly string[];
  /** Absent: the node's current version of the view. */
  readonly version?: number;
}

/** One key's answer, or one entry of a scan. */
export interface ServedEntry {
  readonly key: string;
  /** msgpack of the presented value; empty when not found. */
  readonly value: Uint8Array;
  readonly found: boolean;
}

/** The answer of a Get: one entry per key asked, in the order asked. */
export interface GetAnswer {
  readonly view: string;
  readonly coverage: Coverage;
  readonly entries: readonly ServedEntry[];
}

/** Scan: keys in order from one version, within the intersection of the bounds. */
export interface ScanQuery {
  readonly view: string;
  /** Absent: the node's current version. */
  readonly version?: number;
  /** Only keys starting with this (an engine-key prefix: encodeKeyPrefix). */
  readonly prefix?: string;
  /** First key, inclusive. */
  readonly from?: string;
  /** Key to stop at, exclusive. */
  readonly to?: string;
  /** At most this many entries; absent: no limit. */
  readonly limit?: number;
}

/**
 * One message of a Scan's answer: a chunk of entries (tens of KB), all of
 * one version. A scan answers at least one chunk (empty when no key is in
 * its bounds), so that its coverage is always told.
 */
export interface ScanChunkAnswer {
  readonly view: string;
  readonly coverage: Coverage;
  readonly entries: readonly ServedEntry[];
}
