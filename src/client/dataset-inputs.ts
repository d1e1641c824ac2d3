/**
 * Dataset inputs as the client sees them before submission, for sampling the
 * keys of a total-order job: the cut the master will most likely take, and
 * the records, read over gRPC from the master's Dataset service. The master
 * takes the real cut at submission (and judges it); this one only decides
 * what to sample, so it reads what is there now and never asks for records
 * past a partition's end.
 */
import type { DatasetCut } from '../common/dataset-input.js';
import { parseDatasetInput } from '../common/dataset-input.js';
import type { DatasetSplit } from '../common/input-split.js';
import { decodeBody } from '../storage/record-body.js';
import { DatasetClient, type DatasetDescription } from '../protocol/dataset-rpc.js';
import type { DatasetAccess, DatasetRecordChunk, OffsetRange } from '../storage/input-formats/dataset.js';

/** Reaches the datasets of one master for the sampler; close() when done. */
export class SamplingDatasets {
  private readonly client: DatasetClient;
  private readonly descriptions = new Map<string, Promise<DatasetDescription>>();

  constructor(address: string) {
    this.client = new DatasetClient(address);
  }

  private describe(dataset: string): Promise<DatasetDescription> {
    let d = this.descriptions.get(dataset);
    if (!d) this.descriptions.set(dataset, (d = this.client.describeDataset(dataset)));
    return d;
  }

  /**
   * The cut to sample of a dataset input: its ends now, or the given cut
   * kept within them; for a range input (`@FROM..CUT`) its start too, so
   * that only the records the job reads are sampled. NOT_FOUND for an
   * unknown dataset, as the master says.
   */
  async cutOf(input: string): Promise<DatasetCut> {
    const { dataset, cut, from } = parseDatasetInput(input);
    const ends = (await this.describe(dataset)).partitions.map((p) => p.endOffset);
    const offsets = cut === undefined ? ends : ends.map((end, p) => Math.min(end, cut[p] ?? 0));
    if (from === undefined) return { dataset, offsets };
    return { dataset, offsets, from: offsets.map((end, p) => Math.min(end, from[p] ?? 0)) };
  }

  /**
   * The format's access: ranges of about targetBytes estimated from the
   * partition's mean record size (the sampler only needs their spread, not
   * batch alignment), and reads in chunks.
   */
  get access(): DatasetAccess {
    return {
      splitRanges: async (dataset, partition, endOffset, targetBytes): Promise<OffsetRange[]> => {
        const p = (await this.describe(dataset)).partitions[partition];
        const meanBytes = p && p.records > 0 ? p.bytes / p.records : 1;
        const step = Math.max(1, Math.floor(targetBytes / Math.max(1, meanBytes)));
        const ranges: OffsetRange[] = [];
        for (let from = 0; from < endOffset; from += step) ranges.push({ startOffset: from, endOffset: Math.min(endOffset, from + step) });
        return ranges;
      },
      readRange: (split) => this.read(split),
    };
  }

  private async *read(split: DatasetSplit): AsyncGenerator<DatasetRecordChunk> {
    const chunks = this.client.read({ dataset: split.dataset, partition: split.partition, from: split.startOffset, endOffset: split.endOffset, follow: false });
    for await (const chunk of chunks) {
      if (chunk.count > 0) yield { firstOffset: chunk.firstOffset, records: decodeBody(chunk.body) };
    }
  }

  close(): void {
    this.client.close();
  }
}
