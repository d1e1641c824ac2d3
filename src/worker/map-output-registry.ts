/**
 * The map outputs a worker holds and serves to reducers: attempt id to file.
 * Only successful map attempts are registered, so a reducer can never read a
 * half-written output.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LaminateError } from '../common/errors.js';
import { parseAttemptId } from '../common/ids.js';
import type { PartitionInfo } from '../common/partition-info.js';

interface MapOutputEntry {
  readonly dataPath: string;
  readonly partitions: readonly PartitionInfo[];
}

export class MapOutputRegistry {
  private readonly outputs = new Map<string, MapOutputEntry>();

  add(attemptId: string, entry: MapOutputEntry): void {
    this.outputs.set(attemptId, entry);
  }

  /** The file and byte range of one partition; NOT_FOUND if not held here. */
  locate(attemptId: string, partition: number, offset: number, length: number): { dataPath: string; info: PartitionInfo } {
    const e = this.outputs.get(attemptId);
    if (!e) throw new LaminateError('NOT_FOUND', `This worker holds no output of map attempt '${attemptId}'`);
    return { dataPath: e.dataPath, info: partitionOf(attemptId, e.partitions, partition, offset, length) };
  }

  /** Forgets a job's outputs (their files go with the job's directory). */
  removeJob(jobId: string): void {
    for (const id of [...this.outputs.keys()]) if (parseAttemptId(id).jobId === jobId) this.outputs.delete(id);
  }

  clear(): void {
    this.outputs.clear();
  }
}

/**
 * Partition `partition` of map attempt `attemptId`'s output, whose index is
 * `partitions`, checked against where the reducer was told it is: a request
 * that does not match is for another file than this one.
 * @throws LaminateError INVALID_ARGUMENT when it does not match.
 */
export function partitionOf(attemptId: string, partitions: readonly PartitionInfo[], partition: number, offset: number, length: number): PartitionInfo {
  const info = partitions[partition];
  if (!info) throw new LaminateError('INVALID_ARGUMENT', `Expected a partition below ${partitions.length}, got ${partition}`);
  if (info.offset !== offset || info.length !== length) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected partition ${partition} of ${attemptId} at ${info.offset}+${info.length}, got ${offset}+${length}`);
  }
  return info;
}

export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/** Removes an attempt's files (`<attemptId>.*`) from its job's folder. */
export async function removeAttemptFiles(jobDir: string, attemptId: string): Promise<void> {
  const names = await readdir(jobDir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith(`${attemptId}.`)).map((n) => rm(join(jobDir, n), { recursive: true, force: true })));
}
