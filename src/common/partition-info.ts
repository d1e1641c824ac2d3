/**
 * Where one partition lies in a map output's data file: what the map-output
 * footer records, the master keeps per map task, and reducers fetch by.
 */
export interface PartitionInfo {
  /** Byte offset in the data file. */
  readonly offset: number;
  /** Bytes of the partition's records. */
  readonly length: number;
  /** Number of records. */
  readonly records: number;
}
