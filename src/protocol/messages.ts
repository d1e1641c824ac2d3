/**
 * The wire messages of proto/laminate.proto as TypeScript types. proto-loader
 * is set up (see load.ts) to give camelCase fields, int64 as number, defaults
 * filled and oneofs named, so a decoded message has exactly these fields.
 */
export interface Chunk { data: Buffer }
export interface WireFailure { code: string; message: string; attemptId: string; workerId: string }
export interface RegisterWorkerRequest { shuffleAddress: string; slots: number; memoryMb: number; name: string; externalShuffle: boolean }
export interface RegisterWorkerResponse { workerId: string; heartbeatIntervalMs: number }
export interface HeartbeatRequest { workerId: string; runningAttemptIds: string[]; functionContainerIds: string[] }
export interface HeartbeatResponse { reregister: boolean }
export interface AttachRequest { workerId: string }
export interface LeaveRequest { workerId: string }
export interface WirePartitionInfo { offset: number; length: number; records: number }
export interface WireMapOutputSource {
  mapIndex: number; attemptId: string; workerId: string; shuffleAddress: string; partition: WirePartitionInfo | null;
}
export interface WireFileSplit { path: string; start: number; length: number }
export interface WireDatasetSplit { dataset: string; partition: number; startOffset: number; endOffset: number; archivePath?: string; archiveStart?: number; archiveEnd?: number }
export interface WireInputSplit { file?: WireFileSplit | null; dataset?: WireDatasetSplit | null; split?: 'file' | 'dataset' }
export interface WireDatasetCut { dataset: string; offsets: number[]; from: number[] }
export interface LaunchAttempt {
  attemptId: string; jobId: string; bundleHash: string; kind: string; index: number; memoryMb: number;
  timeoutMs: number; reducers: number; format: string; outputDir: string; split: WireInputSplit | null;
  sources: WireMapOutputSource[]; splitPoints: string[]; sortBufferBytes: number; workerId: string; mergeBase: string;
}
export interface KillAttempt { attemptId: string; reason: string }
export interface CleanupJob { jobId: string }
export interface InvokeFunction {
  requestId: string; eventId: string; function: string; version: number; codeSha256: string; containerId: string;
  memoryMb: number; timeoutMs: number; payload: Buffer; env: Record<string, string>; deadline: number;
}
export interface StopFunctionContainer { containerId: string; reason: string }
export interface WorkerCommand {
  launch?: LaunchAttempt | null; kill?: KillAttempt | null; cleanup?: CleanupJob | null;
  invoke?: InvokeFunction | null; stopContainer?: StopFunctionContainer | null;
  command?: 'launch' | 'kill' | 'cleanup' | 'invoke' | 'stopContainer';
}
export interface WireFunctionLogLine { at: number; level: string; message: string }
export interface InvocationReport {
  requestId: string; workerId: string; containerId: string; ok: boolean; result: Buffer; errorCode: string; errorMessage: string;
  durationMs: number; coldStart: boolean; initMs: number; containerGone: boolean; logs: WireFunctionLogLine[]; maxMemoryUsedMb: number;
}
/** `moreRequestIds`: further reports taken, acknowledged in the same message (absent from an older master). */
export interface InvocationReportAck { requestId: string; errorCode: string; errorMessage: string; moreRequestIds?: string[] }
export interface GetFunctionCodeRequest { function: string; version: number; workerId: string }
export interface FunctionCode { ciphertext: Buffer; iv: Buffer; authTag: Buffer; dataKey: Buffer; codeSha256: string }
export interface WireCounter { name: string; value: number }
export interface WireOutputFileSummary { records: number; bytes: number; checksum: number; firstKey: string; lastKey: string }
export interface AttemptReport {
  attemptId: string; workerId: string; outcome: string; failure: WireFailure | null;
  partitions: WirePartitionInfo[]; counters: WireCounter[]; failedMapIndex: number; failedMapAttemptId: string;
  outputFile: WireOutputFileSummary | null;
}
export interface GetBundleRequest { hash: string }
export interface SubmitJobRequest {
  name: string; bundle: Buffer; inputs: string[]; outputDir: string; reducers: number; format: string;
  splitSize: number; speculation: boolean; mapMemoryMb: number; reduceMemoryMb: number; taskTimeoutMs: number;
  splitPoints: string[];
  /** Optional on the way in (the client sends it only for incremental view builds); '' when absent. */
  mergeBase?: string;
}
export interface SubmitJobResponse { jobId: string }
export interface GetJobRequest { jobId: string }
export interface KillJobRequest { jobId: string }
export interface KillJobResponse { killed: boolean }
export interface AttemptStatus {
  attemptId: string; workerId: string; state: string; startMs: number; finishMs: number; speculative: boolean;
  failure: WireFailure | null;
}
export interface TaskStatus { taskId: string; kind: string; state: string; attempts: AttemptStatus[] }
export interface TaskCounts { total: number; pending: number; running: number; succeeded: number; failed: number; killed: number }
export interface JobStatus {
  jobId: string; name: string; state: string; message: string; submitMs: number; startMs: number; finishMs: number;
  outputDir: string; maps: TaskCounts | null; reduces: TaskCounts | null; counters: WireCounter[];
  failures: WireFailure[]; tasks: TaskStatus[]; cuts: WireDatasetCut[];
}
export interface JobList { jobs: JobStatus[] }
export interface FetchPartitionRequest { mapAttemptId: string; partition: number; offset: number; length: number; workerId: string }
export interface AttachShuffleRequest { name: string }
export interface ShuffleAttachment { jobsDir: string }
/** Where a map output's file is on its server's host (PartitionFile in the proto). */
export interface PartitionFile { host: string; path: string; dev: string; ino: string; stamp: string }
export interface RetainJobsRequest { liveJobIds: string[]; nextJobNumber: number }
export interface RetainJobsResponse { removed: number }
export interface WaitJobRequest { jobId: string; timeoutMs: number }
export interface WorkerStatus {
  workerId: string; shuffleAddress: string; alive: boolean; slots: number; usedSlots: number; memoryMb: number;
  usedMemoryMb: number; lastHeartbeatMs: number; runningAttemptIds: string[]; externalShuffle: boolean;
}
export interface WorkerList { workers: WorkerStatus[] }
