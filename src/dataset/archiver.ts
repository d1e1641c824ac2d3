/**
 * The archiver: copies every sealed segment of every dataset partition to
 * the archive in the background (Kafka's tiered storage, KIP-405, whose
 * RemoteLogManager does the same on a timer: for each partition, the
 * segments that are no longer active and lie past the highest offset
 * already copied, in offset order, then records each in the remote log
 * metadata once it is copied). The live tail, the active segment, is never
 * copied: it stays on the master's disk and is read through the master.
 *
 * What is archived is what the partition manifests say (archive-manifest.ts);
 * they are read from the archive on first use, so a restarted master goes
 * on from the first segment not recorded, copying again over whatever an
 * interrupted copy left (archive-copy.ts). Local segments stay on the disk:
 * there is no local retention policy yet.
 *
 * One per master, started after the dataset store opens and stopped before
 * it closes. One segment is copied at a time, so the archive costs the
 * master one read chunk and one upload part of memory.
 */
import type { Logger } from 'pino';
import { LaminateError } from '../common/errors.js';
import { addMetricsSource } from '../common/metrics.js';
import { readIfPresent, type ObjectStore } from '../storage/object-store.js';
import { copySegment } from './archive-copy.js';
import {
  archivedEnd, archiveManifestKey, archiveSegmentKey, emptyManifest, encodeManifest, parseManifest, segmentsToCopy, withSegment,
  type ArchivedSegment, type PartitionManifest, type SealedSegmentInfo,
} from './archive-manifest.js';
import { archiveLagBytes, archiveLagSegments, archivedBytesTotal, archivedSegmentsTotal } from './dataset-metrics.js';
import { nodeFileSystem, type FileSystem } from './file-system.js';
import type { DatasetDescription } from './types.js';

/** What the archiver needs of the dataset store. */
export interface ArchivableStore {
  listDatasets(): DatasetDescription[];
  sealedSegments(dataset: string, partition: number): SealedSegmentInfo[];
}

/** The steps after which a crash test may stop the process (LAMINATE_FAULT_KILL_AT=archive:uploaded, say). */
export type ArchiveStep = 'archive:uploaded' | 'archive:recorded';

export interface ArchiverOptions {
  readonly store: ArchivableStore;
  readonly archive: ObjectStore;
  /** The archive's key prefix in `archive` (the key of `s3://bucket/prefix/`). */
  readonly prefix: string;
  readonly logger: Logger;
  /** How often a pass looks for newly sealed segments. Default 5000 ms. */
  readonly intervalMs?: number;
  /** The longest wait after failed passes (the wait doubles from intervalMs). Default 60 000 ms. */
  readonly maxBackoffMs?: number;
  readonly fs?: FileSystem;
  /** Crash tests only: called after each step of a segment's archiving. */
  readonly onStep?: (step: ArchiveStep) => void;
}

export const DEFAULT_ARCHIVE_INTERVAL_MS = 5000;

export class SegmentArchiver {
  private readonly manifests = new Map<string, PartitionManifest>();
  /** Partitions whose next segment cannot be archived (DATA_LOSS), with the error: skipped until a restart, logged once. */
  private readonly blocked = new Map<string, LaminateError>();
  private readonly log: Logger;
  private readonly intervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly fs: FileSystem;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failures = 0;
  private removeMetrics: (() => void) | undefined;

  constructor(private readonly o: ArchiverOptions) {
    this.log = o.logger.child({ component: 'archiver' });
    this.intervalMs = o.intervalMs ?? DEFAULT_ARCHIVE_INTERVAL_MS;
    this.maxBackoffMs = Math.max(this.intervalMs, o.maxBackoffMs ?? 60_000);
    this.fs = o.fs ?? nodeFileSystem;
  }

  /** Starts passes: one now, then one every intervalMs after the last ends. Call once. */
  start(): void {
    this.removeMetrics = addMetricsSource(() => this.collectLag());
    this.schedule(0);
    this.log.info({ archive: this.o.archive.describe(this.o.prefix), intervalMs: this.intervalMs }, 'archiving sealed segments');
  }

  /** Stops passes; resolves once a copy in progress has ended (a segment at most). Safe to call twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.removeMetrics?.();
    await this.running;
  }

  /**
   * The archived segments of a partition as far as this archiver knows
   * (none before its manifest was read): what a job's planner may read from
   * the archive. Called once per partition of each submitted job.
   */
  archivedSegments(dataset: string, partition: number): readonly ArchivedSegment[] {
    return this.manifests.get(keyOf(dataset, partition))?.segments ?? [];
  }

  /** Where a reader finds an archived segment: its path as a user writes it (`s3://bucket/key` or a local path). */
  segmentPath(dataset: string, partition: number, baseOffset: number): string {
    return this.o.archive.describe(archiveSegmentKey(this.o.prefix, dataset, partition, baseOffset));
  }

  /**
   * One pass: every partition's sealed segments past its manifest, copied
   * and recorded in order. Called by the timer; tests call it directly.
   * A store error ends the pass (the next comes after a backoff); damage in
   * a local segment stops that partition only.
   */
  async runPass(): Promise<void> {
    for (const d of this.o.store.listDatasets()) {
      for (const { partition } of d.partitions) {
        if (this.stopped) return;
        await this.archivePartition(d.name, partition);
      }
    }
  }

  private async archivePartition(dataset: string, partition: number): Promise<void> {
    const key = keyOf(dataset, partition);
    if (this.blocked.has(key)) return;
    const { archive, prefix } = this.o;
    try {
      let m = await this.manifest(dataset, partition);
      for (const segment of segmentsToCopy(this.o.store.sealedSegments(dataset, partition), m)) {
        if (this.stopped) return;
        const entry = await copySegment({ fs: this.fs, archive, prefix, dataset, partition }, segment);
        this.o.onStep?.('archive:uploaded');
        m = withSegment(m, entry);
        // Recorded only now: the object and its index are whole and read back.
        await archive.put(archiveManifestKey(prefix, dataset, partition), encodeManifest(m));
        this.manifests.set(key, m);
        archivedSegmentsTotal().inc({ dataset });
        archivedBytesTotal().inc({ dataset }, entry.bytes);
        this.log.debug({ dataset, partition, baseOffset: entry.baseOffset, endOffset: entry.endOffset, bytes: entry.bytes }, 'segment archived');
        this.o.onStep?.('archive:recorded');
      }
    } catch (err) {
      if (err instanceof LaminateError && err.code === 'DATA_LOSS') {
        this.blocked.set(key, err);
        this.log.error({ err, dataset, partition }, 'partition not archived further: its next segment cannot be copied whole');
        return;
      }
      throw err;
    }
  }

  /** The partition's manifest: cached, else read from the archive (none there: empty). */
  private async manifest(dataset: string, partition: number): Promise<PartitionManifest> {
    const key = keyOf(dataset, partition);
    const known = this.manifests.get(key);
    if (known !== undefined) return known;
    const at = archiveManifestKey(this.o.prefix, dataset, partition);
    const bytes = await readIfPresent(this.o.archive, at);
    const m = bytes === undefined ? emptyManifest(dataset, partition) : parseManifest(bytes.toString('utf8'), dataset, partition, this.o.archive.describe(at));
    this.manifests.set(key, m);
    if (m.segments.length > 0) this.log.info({ dataset, partition, archivedEnd: archivedEnd(m), segments: m.segments.length }, 'archive manifest read');
    return m;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runPass().then(
        () => {
          this.failures = 0;
        },
        (err: unknown) => {
          this.failures++;
          this.log.warn({ err, failures: this.failures }, 'archive pass failed; retrying after a backoff');
        },
      ).finally(() => {
        this.running = undefined;
        this.schedule(Math.min(this.maxBackoffMs, this.intervalMs * 2 ** this.failures));
      });
    }, delayMs);
    this.timer.unref();
  }

  /** Sets the lag gauges: sealed segments (and their bytes) not archived yet, per dataset. */
  private collectLag(): void {
    const segments = archiveLagSegments();
    const bytes = archiveLagBytes();
    for (const d of this.o.store.listDatasets()) {
      let n = 0;
      let b = 0;
      for (const { partition } of d.partitions) {
        const end = archivedEnd(this.manifests.get(keyOf(d.name, partition)) ?? emptyManifest(d.name, partition));
        for (const s of this.o.store.sealedSegments(d.name, partition)) {
          if (s.baseOffset < end) continue;
          n++;
          b += s.bytes;
        }
      }
      segments.set({ dataset: d.name }, n);
      bytes.set({ dataset: d.name }, b);
    }
  }
}

function keyOf(dataset: string, partition: number): string {
  return `${dataset}\u0000${partition}`;
}
