/**
 * The output committer for an object store (`s3://bucket/out/`), where a
 * rename is a copy and not atomic: commit without rename, as Hadoop's S3A
 * magic and staging committers do. Each reduce attempt streams its part as
 * an upload left uncompleted (invisible), and records the upload in a small
 * manifest, `out/_temporary/<attemptDir>/part-NNNNN.pending` (written when
 * the upload starts, and again with its parts when it is finished). The
 * master lets exactly one attempt per task commit: it completes that
 * attempt's upload, which makes `part-NNNNN` appear whole at once, and
 * aborts the others. The job's commit aborts every upload left under the
 * output prefix, removes `_temporary/`, and writes `_SUCCESS` last.
 *
 * Guarantees: a reader never sees a partial part (an upload is invisible
 * until completed, and completing it is atomic); a killed attempt or job
 * leaves no object but its manifest under `_temporary/`, removed at the
 * job's end; `_SUCCESS` means every part is in place. The job's marker,
 * `_temporary/_job`, tells attempts whether their job still runs.
 * Not guaranteed: two jobs started at once on one prefix are not kept apart
 * (the store has no atomic create-if-absent that every S3 server offers).
 */
import { LaminateError } from '../common/errors.js';
import { formatPartFile } from '../common/ids.js';
import { grow } from './byte-sink.js';
import { readIfPresent, type ObjectStore, type UploadTicket, type UploadWriter } from './object-store.js';
import { OutputWriter, type OutputSink } from './output-format.js';
import { locate } from './store-path.js';

export const TEMPORARY_PREFIX = '_temporary/';
const JOB_MARKER = `${TEMPORARY_PREFIX}_job`;
const SUCCESS = '_SUCCESS';
/** Bytes buffered before they go to the upload (which joins them into parts). */
const FLUSH_BYTES = 1024 * 1024;

/** The output folder of a job as a store and a key prefix ending in '/' (or '' for a bucket's root). */
async function outputOf(outputDir: string): Promise<{ store: ObjectStore; prefix: string }> {
  const { store, key } = await locate(outputDir);
  return { store, prefix: key === '' || key.endsWith('/') ? key : `${key}/` };
}

function manifestKey(prefix: string, attemptDir: string, partition: number): string {
  return `${prefix}${TEMPORARY_PREFIX}${attemptDir}/${formatPartFile(partition)}.pending`;
}

/** The manifest at `key`, or undefined when there is none. */
async function readManifest(store: ObjectStore, key: string): Promise<UploadTicket | undefined> {
  const bytes = await readIfPresent(store, key);
  return bytes === undefined ? undefined : JSON.parse(bytes.toString('utf8')) as UploadTicket;
}

/** A part file's bytes going into an upload, through a buffer the output writer encodes into. */
class UploadSink implements OutputSink {
  buf: Buffer = Buffer.allocUnsafe(64 * 1024);
  pos = 0;
  private bytes = 0;

  constructor(private readonly upload: UploadWriter, private readonly onFinished: (ticket: UploadTicket) => Promise<void>) {}

  reserve(n: number): Buffer {
    if (this.pos + n > this.buf.length) this.buf = grow(this.buf, this.pos, this.pos + n);
    return this.buf;
  }

  needsFlush(): boolean {
    return this.pos >= FLUSH_BYTES;
  }

  async flush(): Promise<void> {
    if (this.pos === 0) return;
    const n = this.pos;
    // The upload copies what it keeps: the buffer is free again once write resolves.
    await this.upload.write(this.buf.subarray(0, n));
    this.pos = 0;
    this.bytes += n;
  }

  async close(): Promise<number> {
    await this.flush();
    await this.onFinished(await this.upload.finish());
    return this.bytes;
  }

  async abandon(): Promise<void> {
    this.pos = 0;
    await this.upload.abort();
  }
}

/** The uploads and manifests of a job's attempts, aborted and removed; committed parts and the marker stay. Safe to repeat. */
async function abortPending(store: ObjectStore, prefix: string, keepMarker: boolean): Promise<number> {
  let aborted = 0;
  for (const o of await store.listAll(`${prefix}${TEMPORARY_PREFIX}`)) {
    if (o.key.endsWith('.pending')) {
      const ticket = await readManifest(store, o.key);
      if (ticket !== undefined) {
        await store.abortUpload(ticket);
        aborted++;
      }
    }
    if (!keepMarker || o.key !== `${prefix}${JOB_MARKER}`) await store.delete(o.key);
  }
  // Uploads whose manifest never got written (an attempt killed between the two); stores that cannot list them keep them invisible.
  for (const ticket of (await store.listUploads(prefix)) ?? []) {
    await store.abortUpload(ticket);
    aborted++;
  }
  return aborted;
}

/** An attempt's raw upload (openTaskUpload): write in order, then close or abandon. */
export interface TaskUpload {
  /** Stores the next bytes (the store joins them into parts); the caller's buffer is free once it resolves. */
  write(bytes: Buffer): Promise<void>;
  /** Finishes the upload and records its parts in the attempt's manifest; invisible until commitTask. */
  close(): Promise<void>;
  /** Drops the upload. Safe to call twice. */
  abandon(): Promise<void>;
}

/**
 * Starts an attempt's upload to `part-NNNNN` and records it in the
 * attempt's manifest; `finished` records the finished upload's parts (or
 * aborts it when the job ended meanwhile).
 */
async function startAttemptUpload(outputDir: string, attemptDir: string, partition: number): Promise<{ upload: UploadWriter; finished: (ticket: UploadTicket) => Promise<void> }> {
  const { store, prefix } = await outputOf(outputDir);
  const ended = (): LaminateError => new LaminateError('FAILED_PRECONDITION', `Expected the job's marker '${store.describe(`${prefix}${JOB_MARKER}`)}' for attempt ${attemptDir}'s output, got none: the job has ended, so this late attempt writes nothing`);
  if ((await store.stat(`${prefix}${JOB_MARKER}`)) === undefined) throw ended();
  const manifest = manifestKey(prefix, attemptDir, partition);
  const upload = await store.startUpload(`${prefix}${formatPartFile(partition)}`);
  try {
    await store.put(manifest, JSON.stringify(upload.ticket));
  } catch (err) {
    await upload.abort().catch(() => {});
    throw err;
  }
  return {
    upload,
    finished: async (ticket) => {
      // A job that ended meanwhile swept its uploads already: this one would be left behind.
      if ((await store.stat(`${prefix}${JOB_MARKER}`)) === undefined) {
        await store.abortUpload(ticket);
        throw ended();
      }
      await store.put(manifest, JSON.stringify(ticket));
    },
  };
}

export const ObjectOutputCommitter = {
  /**
   * Prepares the output prefix for a job: checks the bucket (a missing one
   * or denied access fails here, before the job starts), refuses a prefix
   * that holds anything, and writes the job's marker. Called by the master
   * once per submitted job.
   *
   * @throws LaminateError NOT_FOUND / UNAUTHENTICATED for the bucket,
   *   ALREADY_EXISTS for a prefix with objects.
   */
  async setupJob(outputDir: string): Promise<void> {
    const { store, prefix } = await outputOf(outputDir);
    await store.check();
    const { objects, prefixes } = await store.list(prefix);
    const found = [...objects.map((o) => o.key), ...prefixes];
    if (found.length > 0) {
      const shown = found.slice(0, 3).map((k) => `'${k.slice(prefix.length)}'`).join(', ');
      throw new LaminateError('ALREADY_EXISTS', `Output '${outputDir}' already has output (found ${shown}${found.length > 3 ? ` and ${found.length - 3} more` : ''}); expected it missing or empty`);
    }
    await store.put(`${prefix}${JOB_MARKER}`, '');
  },

  /**
   * Opens the output of one reduce attempt: an upload to `part-NNNNN`
   * left uncompleted, and its manifest. The writer's close finishes the
   * upload and records its parts; it stays invisible until commitTask.
   * Called by the reduce runner once per attempt.
   *
   * @throws LaminateError FAILED_PRECONDITION when the job has ended (its
   *   marker is gone): a late attempt writes nothing.
   */
  async openTaskOutput(outputDir: string, attemptDir: string, partition: number): Promise<OutputWriter> {
    const { upload, finished } = await startAttemptUpload(outputDir, attemptDir, partition);
    return OutputWriter.over(new UploadSink(upload, finished));
  },

  /**
   * As openTaskOutput, for bytes made elsewhere (a view file staged on the
   * worker's disk): the caller writes them in chunks, then close() finishes
   * the upload and records it, still invisible until commitTask; abandon()
   * drops it. Called by the reduce runner once per attempt.
   *
   * @throws LaminateError FAILED_PRECONDITION when the job has ended.
   */
  async openTaskUpload(outputDir: string, attemptDir: string, partition: number): Promise<TaskUpload> {
    const { upload, finished } = await startAttemptUpload(outputDir, attemptDir, partition);
    return {
      write: (bytes) => upload.write(bytes),
      close: async () => { await finished(await upload.finish()); },
      abandon: () => upload.abort(),
    };
  },

  /**
   * Completes the attempt's upload, so `part-NNNNN` appears whole (replacing
   * an earlier one, if any), then removes its manifest. Called by the master
   * for the one attempt per task it lets commit. Idempotent: with the
   * manifest gone and the part there, the commit is taken as done.
   *
   * @throws LaminateError NOT_FOUND when there is neither manifest nor part;
   *   FAILED_PRECONDITION when the attempt never finished its upload.
   */
  async commitTask(outputDir: string, attemptDir: string, partition: number): Promise<void> {
    const { store, prefix } = await outputOf(outputDir);
    const key = manifestKey(prefix, attemptDir, partition);
    const part = `${prefix}${formatPartFile(partition)}`;
    const ticket = await readManifest(store, key);
    if (ticket === undefined) {
      if ((await store.stat(part)) !== undefined) return;
      throw new LaminateError('NOT_FOUND', `Expected attempt ${attemptDir}'s upload manifest at '${store.describe(key)}' to commit, got none (and no committed '${store.describe(part)}')`);
    }
    if (ticket.parts === undefined) {
      throw new LaminateError('FAILED_PRECONDITION', `Expected attempt ${attemptDir}'s upload to '${store.describe(part)}' to be finished before its commit, got one still open`);
    }
    try {
      await store.commitUpload(ticket);
    } catch (err) {
      // Completed by an earlier try of this commit (a master that restarted in between).
      if (!(err instanceof LaminateError && err.code === 'NOT_FOUND' && (await store.stat(part)) !== undefined)) throw err;
    }
    await store.delete(key);
  },

  /**
   * Aborts the attempt's upload and removes its manifest. Called by the
   * master for attempts that failed, were killed or lost the race to commit.
   * Safe to call twice, and when the attempt wrote nothing.
   */
  async abortTask(outputDir: string, attemptDir: string, partition: number): Promise<void> {
    const { store, prefix } = await outputOf(outputDir);
    const key = manifestKey(prefix, attemptDir, partition);
    const ticket = await readManifest(store, key);
    if (ticket !== undefined) await store.abortUpload(ticket);
    await store.delete(key);
  },

  /**
   * Removes the job's marker (late attempts then write nothing), aborts
   * every upload left under the prefix, removes `_temporary/`, and writes
   * `_SUCCESS` last. Called by the master once every reduce task committed;
   * safe to call twice.
   */
  async commitJob(outputDir: string): Promise<void> {
    const { store, prefix } = await outputOf(outputDir);
    await store.delete(`${prefix}${JOB_MARKER}`);
    await abortPending(store, prefix, false);
    await store.put(`${prefix}${SUCCESS}`, '');
  },

  /** As commitJob without `_SUCCESS`: committed parts (if any) stay. Called when a job fails or is cancelled; safe to call twice. */
  async abortJob(outputDir: string): Promise<void> {
    const { store, prefix } = await outputOf(outputDir);
    await store.delete(`${prefix}${JOB_MARKER}`);
    await abortPending(store, prefix, false);
  },

  /**
   * Aborts the uploads of attempts from before a master restart, which the
   * restarted master will never commit (it runs their tasks again); the
   * marker stays, so the job goes on. Called by the master at start for
   * each unfinished job with object-store output; safe to call twice.
   * Returns how many uploads it aborted.
   */
  async recoverJob(outputDir: string): Promise<number> {
    const { store, prefix } = await outputOf(outputDir);
    return abortPending(store, prefix, true);
  },
};
