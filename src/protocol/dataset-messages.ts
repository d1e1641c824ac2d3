/**
 * The wire messages of the Dataset service (proto/laminate.proto) as
 * TypeScript types, as proto-loader decodes them (see load.ts): camelCase,
 * int64 as number, defaults filled, and a proto3 `optional` field present
 * only when sent (with its synthetic oneof naming it).
 */
export interface CreateDatasetRequest { name: string; partitions: number }
export interface DescribeDatasetRequest { name: string }
export interface WireDatasetPartition { partition: number; endOffset: number; segments: number; records: number; bytes: number }
export interface DatasetInfo { name: string; partitions: WireDatasetPartition[]; createdAtMs: number }
export interface DatasetList { datasets: DatasetInfo[] }
export interface InitProducerRequest { dataset: string; producerId: string }
export interface WireProducerPartition { partition: number; nextSequence: number }
export interface InitProducerResponse { partitions: WireProducerPartition[] }
export interface WireAppendBatch { dataset: string; partition: number; producerId: string; sequence: number; count: number; body: Buffer; replay: boolean }
export interface AppendRequest { batches: WireAppendBatch[] }
export interface WireAppendResult { partition: number; firstOffset: number; count: number; duplicate: boolean; skipped: number }
export interface AppendResponse { results: WireAppendResult[] }
export interface ReadRequest {
  dataset: string; partition: number; from: number; endOffset?: number; follow: boolean; maxBytes: number;
}
export interface LocateRangeRequest { dataset: string; partition: number; from: number; endOffset: number }
export interface WireLocatedSegmentRange { path: string; start: number; end: number; fromOffset: number; toOffset: number; dev: string; ino: string; stamp: string }
export interface LocatedRanges { host: string; ranges: WireLocatedSegmentRange[] }
export interface ReadChunk { partition: number; firstOffset: number; count: number; body: Buffer; nextOffset: number; endOffset: number; readAtMs: number }
