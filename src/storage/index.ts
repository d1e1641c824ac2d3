/** The storage layer: input files and splits, record codecs, map outputs, merges, output. */
export { compareBytes, compareKeys } from './key-order.js';
export { listInputFiles, type InputFile } from './input-files.js';
export { computeSplits, SPLIT_SLOP, type InputSplit } from './input-split.js';
export { fileLineNumber, readSplitLines, readWholeFile, type ReadLinesOptions } from './line-reader.js';
export { appendRecord, decodeValue, decodeValueAt, encodeValue, parseRecord, type RecordFrame } from './record-codec.js';
export { GrowableBuffer, type ByteSink } from './byte-sink.js';
export { BufferedFileWriter } from './buffered-file-writer.js';
export {
  MapOutputCollector,
  type CombineFn,
  type MapOutputCollectorOptions,
  type MapOutputCounters,
} from './map-output-collector.js';
export { readIndex, readPartitionChunks, writeIndex, type MapOutput, type PartitionInfo } from './map-output-file.js';
export { bufferSegment, fileSegment, type Segment } from './segment.js';
export { mergeGroups, mergeRecords, mergeToFile, type MergeOptions } from './merger.js';
export { formatOutputLine, OutputWriter } from './output-format.js';
export { FileOutputCommitter, SUCCESS_FILE, TEMPORARY_DIR } from './output-committer.js';
